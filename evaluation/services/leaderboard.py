"""The leaderboard: one row per contributor and benchmark, recomputed when a score lands."""

from django.db import transaction

from evaluation.models import Benchmark, LeaderboardEntry, Submission

Status = Submission.Status


def leaderboard_recompute(*, benchmark: Benchmark) -> list[LeaderboardEntry]:
    """Rebuild a benchmark's leaderboard: each contributor's best scored submission, ranked
    (ties: the earlier submission first), with the delta to the baseline."""
    lower = benchmark.metric_direction == Benchmark.Direction.LOWER
    scored = (
        Submission.objects.filter(
            benchmark=benchmark,
            benchmark_version=benchmark.data_version,  # versions are never ranked together
            status=Status.SCORED,
            contributor__isnull=False,
            mean_val_bpb__isnull=False,
        )
        .exclude(pk=benchmark.baseline_id or 0)
        .order_by("created_at", "pk")
    )
    best: dict[int, Submission] = {}
    for submission in scored:
        assert submission.contributor_id is not None and submission.mean_val_bpb is not None
        current = best.get(submission.contributor_id)
        if current is None or (
            submission.mean_val_bpb < current.mean_val_bpb  # type: ignore[operator]
            if lower
            else submission.mean_val_bpb > current.mean_val_bpb  # type: ignore[operator]
        ):
            best[submission.contributor_id] = submission
    baseline = benchmark.baseline
    baseline_score = (
        baseline.mean_val_bpb if baseline and baseline.status == Status.SCORED else None
    )
    ordered = sorted(
        best.values(),
        key=lambda s: ((s.mean_val_bpb or 0) * (1 if lower else -1), s.created_at, s.pk),
    )
    with transaction.atomic():
        LeaderboardEntry.objects.filter(benchmark=benchmark).delete()
        return LeaderboardEntry.objects.bulk_create(
            LeaderboardEntry(
                benchmark=benchmark,
                contributor_id=submission.contributor_id or 0,
                submission=submission,
                rank=rank,
                mean_val_bpb=submission.mean_val_bpb or 0.0,
                std_val_bpb=submission.std_val_bpb,
                delta_to_baseline=(
                    submission.mean_val_bpb - baseline_score
                    if baseline_score is not None and submission.mean_val_bpb is not None
                    else None
                ),
            )
            for rank, submission in enumerate(ordered, start=1)
        )
