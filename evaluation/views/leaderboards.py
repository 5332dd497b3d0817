"""A benchmark's leaderboard page (its ranking, the record's progression) and its export."""

from datetime import datetime
from typing import Any

from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.utils import timezone

from evaluation.exports import (
    LEADERBOARD_FIELDS,
    export_response,
    leaderboard_rows,
)
from evaluation.models import Submission
from evaluation.selectors import (
    baseline_devices,
    benchmark_choices,
    benchmark_get,
    benchmark_run_budget,
    incomplete_get,
    leaderboard_get,
    record_progression,
)
from ui.charts import Line, line_chart


def _progression_chart(records: list[Submission]) -> Any:
    points = [
        (r.finished_at.timestamp(), r.mean_val_bpb)
        for r in records
        if r.finished_at is not None and r.mean_val_bpb is not None
    ]
    if not points:
        return None
    now = timezone.now().timestamp()
    if now > points[-1][0]:
        points.append((now, points[-1][1]))  # the record stands until today
    ticks = [(x, f"{datetime.fromtimestamp(x):%Y-%m-%d}") for x, _ in (points[0], points[-1])]
    return line_chart(
        lines=[Line("best validation bits per byte", points, step=True)],
        title=f"Record progression: from {points[0][1]:.4f} to {points[-1][1]:.4f} bits per byte",
        x_label="date",
        y_label="val bpb",
        x_ticks=ticks,
    )


def leaderboard(request: HttpRequest, slug: str) -> HttpResponse:
    """A benchmark's ranking and how its record moved over time."""
    benchmark = benchmark_get(slug=slug)
    if benchmark is None:
        raise Http404("no such benchmark")
    records = record_progression(benchmark=benchmark)
    rows = leaderboard_get(benchmark=benchmark)
    # The hidden test split: maintainers always, everyone once a maintainer reveals it.
    ranked = [row for row in rows if "entry" in row]  # not the baseline's row
    tested = sorted(
        (row["entry"].submission.mean_test_bpb, row["entry"].submission.pk)
        for row in ranked
        if row["entry"].submission.mean_test_bpb is not None
    )
    show_test = bool(tested) and (benchmark.test_revealed or request.user.is_staff)
    if show_test:
        test_ranks = {pk: rank for rank, (_score, pk) in enumerate(tested, start=1)}
        for row in ranked:
            row["test_rank"] = test_ranks.get(row["entry"].submission.pk)
    context = {
        "benchmark": benchmark,
        "rows": rows,
        "show_test": show_test,
        "records": records,
        "incomplete": incomplete_get(benchmark=benchmark),
        "cap": benchmark_run_budget(benchmark)[1],
        "baseline_devices": baseline_devices(benchmark),
        "chart": _progression_chart(records),
        "benchmarks": benchmark_choices(),
    }
    return render(request, "evaluation/leaderboard.html", context)


def leaderboard_export(
    request: HttpRequest, slug: str, kind: str
) -> HttpResponse | StreamingHttpResponse:
    """A benchmark's leaderboard as CSV or JSON."""
    benchmark = benchmark_get(slug=slug)
    if benchmark is None:
        raise Http404("no such benchmark")
    rows = leaderboard_rows(benchmark=benchmark)
    return export_response(rows, LEADERBOARD_FIELDS, name=f"leaderboard-{slug}", kind=kind)
