"""Exports: a leaderboard and a list of submissions as CSV or JSON, the same rows either way
(linked from the pages; plain GETs, public like the pages)."""

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse

from evaluation.models import Benchmark, Submission
from evaluation.selectors import leaderboard_entries

LEADERBOARD_FIELDS = (
    "rank",
    "tied",
    "contributor",
    "submission",
    "attempt",
    "mean_val_bpb",
    "ci95_val_bpb",
    "std_val_bpb",
    "delta_to_baseline",
    "is_record",
    "finished_at",
)
SUBMISSION_FIELDS = (
    "id",
    "benchmark",
    "contributor",
    "source",
    "title",
    "status",
    "queue_position",
    "estimated_start",
    "attempt",
    "result_attempt",
    "mean_val_bpb",
    "ci95_val_bpb",
    "is_record",
    "record_p_value",
    "created_at",
    "finished_at",
)


def leaderboard_rows(*, benchmark: Benchmark) -> list[dict[str, Any]]:
    entries = leaderboard_entries(benchmark=benchmark).select_related("contributor", "submission")
    return [
        {
            "rank": e.rank,
            "tied": e.tied,
            "contributor": e.contributor.login,
            "submission": e.submission_id,
            "attempt": e.attempt,
            "mean_val_bpb": e.mean_val_bpb,
            "ci95_val_bpb": e.ci_val_bpb,
            "std_val_bpb": e.std_val_bpb,
            "delta_to_baseline": e.delta_to_baseline,
            "is_record": e.submission.is_record,
            "finished_at": e.submission.finished_at,
        }
        for e in entries
    ]


def submission_rows(
    submissions: Iterable[Submission], places: dict[int, tuple[int, Any]]
) -> Iterator[dict[str, Any]]:
    for s in submissions:
        place = places.get(s.pk)
        shown = s.result_attempt is not None
        yield {
            "id": s.pk,
            "benchmark": s.benchmark.slug,
            "contributor": s.contributor.login if s.contributor else "",
            "source": s.source,
            "title": s.title,
            "status": s.status,
            "queue_position": place[0] if place else None,
            "estimated_start": place[1] if place else None,
            "attempt": s.attempt,
            "result_attempt": s.result_attempt,
            "mean_val_bpb": s.mean_val_bpb if shown else None,
            "ci95_val_bpb": s.ci_val_bpb if shown else None,
            "is_record": s.is_record,
            "record_p_value": s.record_p_value,
            "created_at": s.created_at,
            "finished_at": s.finished_at,
        }


def _text(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    text = str(value)
    # A cell a spreadsheet would run as a formula is quoted as text (CSV injection).
    return (
        "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _number(text) else text
    )


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def export_response(
    rows: Iterable[dict[str, Any]], fields: tuple[str, ...], *, name: str, kind: str
) -> HttpResponse | StreamingHttpResponse:
    """`rows` as a CSV (streamed) or JSON download named `name`."""
    response: HttpResponse | StreamingHttpResponse
    if kind == "json":
        body = json.dumps(
            [{k: _json(row[k]) for k in fields} for row in rows], indent=1, allow_nan=False
        )
        response = HttpResponse(body, content_type="application/json")
    else:

        def lines() -> Iterator[str]:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(fields)
            for row in rows:
                writer.writerow([_text(row[k]) for k in fields])
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
            yield buffer.getvalue()

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.{kind}"'
    return response


def _json(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value
