"""Reads of evaluation, for the pages, the API and the services alike: each a bounded number of
queries whatever the data size. Reads never import the services (writes), which may use them."""

import itertools
import statistics
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Count, F, Prefetch, Q, QuerySet

from contrib.models import Contributor
from evaluation.datastore import data_dir
from evaluation.engine.folders import spec_from_stored
from evaluation.engine.specs import SPECS, BenchmarkSpec
from evaluation.models import Benchmark, EvaluationRun, LeaderboardEntry, Submission
from evaluation.queues import queue_estimates

Status = Submission.Status


def evaluations_in_flight() -> dict[str, int]:
    """How many submissions wait for approval, are queued and are running (one query)."""
    counts = dict(
        Submission.objects.filter(status__in=Submission.ACTIVE)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {status: counts.get(status, 0) for status in Submission.ACTIVE}


def records_latest(*, limit: int = 5) -> QuerySet[Submission]:
    """The latest records set on any benchmark."""
    return (
        Submission.objects.filter(is_record=True, result_attempt__isnull=False)
        .select_related("benchmark", "contributor")
        .order_by("-finished_at", "-pk")[:limit]
    )


def _run_facts(runs: list[EvaluationRun]) -> dict[str, Any]:
    """Parameters and mean training speed of a submission's scored seeds."""
    metrics = [run.metrics or {} for run in runs if run.status == EvaluationRun.Status.OK]
    params = next((m["param_count"] for m in metrics if m.get("param_count")), None)
    speeds = [m["bytes_per_second"] for m in metrics if m.get("bytes_per_second")]
    return {"params": params, "bytes_per_second": statistics.fmean(speeds) if speeds else None}


def leaderboard_entries(*, benchmark: Benchmark) -> QuerySet[LeaderboardEntry]:
    """The benchmark's ranked entries in the board's order: by rank, then (tied entries share a
    rank) by score, best first. The one order of the page, the API and the exports."""
    return LeaderboardEntry.objects.filter(benchmark=benchmark).order_by(
        "rank", "mean_val_bpb" if _lower(benchmark) else "-mean_val_bpb", "pk"
    )


def leaderboard_get(*, benchmark: Benchmark) -> list[dict[str, Any]]:
    """The benchmark's ranked rows with params and bytes/s from their runs (three queries),
    and the baseline's own unranked row where its score places it."""
    entries = (
        leaderboard_entries(benchmark=benchmark)
        .select_related("contributor", "submission", "submission__repository")
        .prefetch_related(Prefetch("submission__runs"))
    )
    rows = [{"entry": entry, **_run_facts(_shown(entry.submission))} for entry in entries]
    baseline = (
        Submission.objects.filter(
            pk=benchmark.baseline_id or 0,
            result_attempt__isnull=False,
            benchmark_version=benchmark.data_version,
        )
        .prefetch_related("runs")
        .first()
    )
    if baseline is not None:
        assert baseline.mean_val_bpb is not None
        sign = 1 if _lower(benchmark) else -1
        above = sum(
            1 for row in rows if sign * row["entry"].mean_val_bpb < sign * baseline.mean_val_bpb
        )
        rows.insert(above, {"baseline": baseline, **_run_facts(_shown(baseline))})
    return rows


def _shown(submission: Submission) -> list[EvaluationRun]:
    """The runs of the attempt whose result the submission shows (prefetched runs)."""
    return [run for run in submission.runs.all() if run.attempt == submission.result_attempt]


def _lower(benchmark: Benchmark) -> bool:
    return benchmark.metric_direction == Benchmark.Direction.LOWER


def incomplete_get(*, benchmark: Benchmark, limit: int = 20) -> list[Submission]:
    """The benchmark's latest submissions cut short by its training cap (never ranked)."""
    return list(
        Submission.objects.filter(
            benchmark=benchmark,
            benchmark_version=benchmark.data_version,
            status=Status.INCOMPLETE,
        )
        .select_related("contributor")
        .order_by("-finished_at", "-pk")[:limit]
    )


def record_progression(*, benchmark: Benchmark) -> list[Submission]:
    """The baseline then each record, oldest first: how the best score moved over time; each
    record carries its `margin` over the one before it."""
    records = Submission.objects.filter(
        benchmark=benchmark, result_attempt__isnull=False, is_record=True
    )
    if benchmark.baseline_id:
        records = records | Submission.objects.filter(
            pk=benchmark.baseline_id, result_attempt__isnull=False
        )
    # Unfinished-dated rows first on every database (PostgreSQL sorts NULLs last by default).
    progression = list(
        records.select_related("contributor").order_by(F("finished_at").asc(nulls_first=True), "pk")
    )
    for record in progression:
        record.margin = None  # type: ignore[attr-defined]
    for before, record in itertools.pairwise(progression):
        if before.mean_val_bpb is not None and record.mean_val_bpb is not None:
            record.margin = abs(before.mean_val_bpb - record.mean_val_bpb)  # type: ignore[attr-defined]
    return progression


def submission_get(*, pk: int) -> Submission | None:
    """A submission with what its page shows: benchmark, baseline, author, runs."""
    return (
        Submission.objects.select_related(
            "benchmark", "benchmark__baseline", "contributor", "repository"
        )
        .prefetch_related("runs")
        .filter(pk=pk)
        .first()
    )


def contributor_submissions(*, contributor: Contributor, limit: int = 20) -> dict[str, Any]:
    """A contributor's latest submissions and best rank per benchmark (two queries)."""
    return {
        "submissions": list(
            Submission.objects.filter(contributor=contributor)
            .select_related("benchmark")
            .order_by("-created_at")[:limit]
        ),
        "ranks": list(
            LeaderboardEntry.objects.filter(contributor=contributor)
            .select_related("benchmark")
            .order_by("benchmark__slug")
        ),
    }


def benchmarks_open() -> QuerySet[Benchmark]:
    return Benchmark.objects.filter(active=True).order_by("slug")


def benchmark_get(*, slug: str) -> Benchmark | None:
    """A benchmark with its baseline, for its leaderboard page."""
    return Benchmark.objects.select_related("baseline").filter(slug=slug).first()


def benchmark_choices() -> list[tuple[str, str]]:
    """Every benchmark's slug and name, for the leaderboard's switcher."""
    return list(Benchmark.objects.order_by("slug").values_list("slug", "name"))


def baseline_runs_for(*, submission: Submission) -> list[EvaluationRun]:
    """One scored run of the benchmark's baseline to draw beside ``submission``'s (none for the
    baseline itself)."""
    baseline = submission.benchmark.baseline
    if baseline is None or baseline.pk == submission.pk or baseline.result_attempt is None:
        return []
    return list(
        baseline.runs.filter(status=EvaluationRun.Status.OK, attempt=baseline.result_attempt)[:1]
    )


def submissions_filtered(
    *, benchmark: str = "", status: str = "", contributor: str = ""
) -> QuerySet[Submission]:
    """Every submission, newest first, narrowed by benchmark slug, status and author login."""
    found = Submission.objects.select_related("benchmark", "contributor").order_by(
        "-created_at", "-pk"
    )
    if benchmark:
        found = found.filter(benchmark__slug=benchmark)
    if status:
        found = found.filter(status=status)
    if contributor:
        found = found.filter(contributor__login__iexact=contributor)
    return found


def queue_positions(submissions: Iterable[Submission]) -> dict[int, tuple[int, datetime | None]]:
    """Position in its queue and estimated start of each queued one among `submissions`
    (a few queries per queue)."""
    queues = {s.benchmark.queue for s in submissions if s.status == Status.QUEUED}
    places: dict[int, tuple[int, datetime | None]] = {}
    for queue in sorted(queues):
        places.update(queue_estimates(queue=queue))
    return places


def benchmark_run_budget(benchmark: Benchmark) -> tuple[int, float]:
    """What a complete run of the benchmark trains, in bytes (whole steps, as the engine
    serves them; a demo's reduced budget where it has one), and the training cap it must do it
    in, in seconds."""
    spec = benchmark_spec(benchmark)
    if benchmark.byte_budget:
        spec = spec.with_overrides(byte_budget=benchmark.byte_budget)
    return spec.steps * spec.batch_size * spec.block_size, spec.train_wall_s


def benchmark_spec(benchmark: Benchmark) -> BenchmarkSpec:
    """The engine spec a benchmark runs with: its imported definition (data from the store),
    or the shipped spec it names."""
    if benchmark.definition:
        return spec_from_stored(benchmark.definition, data_dir())
    return SPECS[benchmark.engine_spec]


def record_holder(benchmark: Benchmark, *, version: int, excluding: int) -> Submission | None:
    """The submission a new record must beat: the latest record of this data version, else its
    baseline once scored."""
    holder = (
        Submission.objects.filter(
            benchmark=benchmark,
            benchmark_version=version,
            result_attempt__isnull=False,
            is_record=True,
        )
        .exclude(pk=excluding)
        .order_by(F("finished_at").desc(nulls_last=True), "-pk")  # the same on every database
        .first()
    )
    if holder is None and benchmark.baseline_id and benchmark.baseline_id != excluding:
        holder = Submission.objects.filter(
            pk=benchmark.baseline_id, benchmark_version=version, result_attempt__isnull=False
        ).first()
    return holder


def record_held_by(
    *, benchmark: Benchmark, contributor: Contributor
) -> tuple[Submission | None, bool]:
    """The benchmark's standing record when ``contributor`` (or someone merged into them) holds
    it, and whether they hold or ever held one of its records."""
    theirs = Q(contributor=contributor) | Q(contributor__merged_into=contributor)
    holder = record_holder(benchmark, version=benchmark.data_version, excluding=0)
    if holder is not None and Submission.objects.filter(theirs, pk=holder.pk).exists():
        return holder, True
    return None, Submission.objects.filter(theirs, benchmark=benchmark, is_record=True).exists()


def baseline_scores(benchmark: Benchmark, device: str) -> list[float]:
    """The baseline's seed scores on this device class and the benchmark's current data (none
    when it has not run there)."""
    found = (benchmark.baseline_results or {}).get(device) if device else None
    if not found or found.get("version") != benchmark.data_version:
        return []
    return [float(score) for score in found.get("scores", [])]


def baseline_means(benchmark: Benchmark) -> dict[str, float]:
    """Device class → the baseline's mean there, on the benchmark's current data."""
    means = {}
    for device in benchmark.baseline_results or {}:
        scores = baseline_scores(benchmark, device)
        if scores:
            means[device] = sum(scores) / len(scores)
    return means


def baseline_devices(benchmark: Benchmark) -> list[tuple[str, float, str]]:
    """(device class, the baseline's mean there, when it ran) for the leaderboard's note."""
    found = benchmark.baseline_results or {}
    return [
        (device, mean, str(found[device].get("at") or "")[:10])
        for device, mean in sorted(baseline_means(benchmark).items())
    ]
