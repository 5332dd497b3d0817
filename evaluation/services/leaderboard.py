"""The leaderboard: one row per contributor and benchmark, recomputed when a score lands."""

from datetime import datetime
from typing import NamedTuple

from django.db import transaction

from evaluation.models import Benchmark, LeaderboardEntry, Submission
from evaluation.selectors import baseline_means

Status = Submission.Status


class _Scored(NamedTuple):
    """The figures of a scored submission the board needs (no model instances: 10,000 of them
    cost more than the rest of a recompute)."""

    pk: int
    contributor_id: int
    mean_val_bpb: float
    std_val_bpb: float | None
    ci_val_bpb: float | None
    created_at: datetime
    result_attempt: int
    result_device: str


def _overlap(upper: _Scored, lower: _Scored) -> bool:
    """Whether two scores' 95 % intervals overlap (a score without one, from a single seed, is
    its own point)."""
    a, b = upper.ci_val_bpb or 0.0, lower.ci_val_bpb or 0.0
    if not a and not b:
        return False
    return abs(upper.mean_val_bpb - lower.mean_val_bpb) <= a + b


def leaderboard_recompute(*, benchmark: Benchmark) -> list[LeaderboardEntry]:
    """Rebuild a benchmark's leaderboard: each contributor's best scored submission, ordered
    by mean (the earlier submission first on equal means), with the delta to the baseline (its
    result on the entry's device class where it ran there, `baselines`). An
    entry whose 95 % interval overlaps that of the entry holding the rank above it shares that
    rank, and both are marked tied: an order the seeds' noise could have decided is not shown
    as one. (Compared with the rank's holder, not with the next entry up: chained overlaps
    would make a long board one tie.)"""
    lower = benchmark.metric_direction == Benchmark.Direction.LOWER
    scored = (
        Submission.objects.filter(
            benchmark=benchmark,
            benchmark_version=benchmark.data_version,  # versions are never ranked together
            result_attempt__isnull=False,  # a complete result, whatever a re-run is doing
            contributor__isnull=False,
            mean_val_bpb__isnull=False,
        )
        .exclude(pk=benchmark.baseline_id or 0)
        .order_by("created_at", "pk")
        .values_list(*_Scored._fields)
    )
    best: dict[int, _Scored] = {}
    for row in scored:
        submission = _Scored(*row)
        current = best.get(submission.contributor_id)
        if current is None or (
            submission.mean_val_bpb < current.mean_val_bpb
            if lower
            else submission.mean_val_bpb > current.mean_val_bpb
        ):
            best[submission.contributor_id] = submission
    baseline = benchmark.baseline
    baseline_score = (
        baseline.mean_val_bpb if baseline and baseline.result_attempt is not None else None
    )
    by_device = baseline_means(benchmark) if baseline_score is not None else {}
    ordered = sorted(
        best.values(),
        key=lambda s: (s.mean_val_bpb * (1 if lower else -1), s.created_at, s.pk),
    )
    ranks: list[tuple[int, bool]] = []
    leader = 0  # the index of the entry that holds the current rank
    for position, submission in enumerate(ordered, start=1):
        if position > 1 and _overlap(ordered[leader], submission):
            ranks[leader] = (ranks[leader][0], True)  # the rank's holder is marked too
            ranks.append((ranks[leader][0], True))
        else:
            leader = position - 1
            ranks.append((position, False))
    with transaction.atomic():
        LeaderboardEntry.objects.filter(benchmark=benchmark).delete()
        return LeaderboardEntry.objects.bulk_create(
            LeaderboardEntry(
                benchmark=benchmark,
                contributor_id=submission.contributor_id,
                submission_id=submission.pk,
                attempt=submission.result_attempt,
                rank=rank,
                tied=tied,
                mean_val_bpb=submission.mean_val_bpb,
                std_val_bpb=submission.std_val_bpb,
                ci_val_bpb=submission.ci_val_bpb,
                delta_to_baseline=(
                    submission.mean_val_bpb
                    - by_device.get(submission.result_device, baseline_score)
                    if baseline_score is not None
                    else None
                ),
            )
            for (rank, tied), submission in zip(ranks, ordered, strict=True)
        )
