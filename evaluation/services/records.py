"""Records by significance: a scored submission is a new record only when a one-sided Welch
t-test over its seeds and the record holder's says it is better with p below the benchmark's
threshold (modded-nanogpt's rule for its speedrun records, checked by hand there). Better on
average but not yet significant: the platform runs more seeds, up to the benchmark's cap,
before it decides."""

import statistics
from dataclasses import dataclass

from django.db.models import F

from evaluation.models import Benchmark, EvaluationRun, Submission
from evaluation.stats import confidence_half_width, one_sample_p_lower, welch_p_lower

Status = Submission.Status
RunStatus = EvaluationRun.Status


@dataclass(frozen=True)
class Verdict:
    """What a scored submission's seeds say against the record holder: `record`; or `seeds`, a
    larger number of seeds to run before deciding; and a sentence for the page and the PR."""

    record: bool = False
    seeds: int | None = None
    p_value: float | None = None
    margin: float | None = None
    note: str = ""


def seed_scores(submission: Submission, *, attempt: int | None) -> list[float]:
    """The seed scores of one of the submission's attempts (none without one)."""
    if attempt is None:
        return []
    return [
        run.val_bits_per_byte
        for run in submission.runs.filter(status=RunStatus.OK, attempt=attempt).order_by("seed")
        if run.val_bits_per_byte is not None
    ]


def score_interval(scores: list[float]) -> tuple[float, float, float | None]:
    """Mean, standard deviation and the 95 % confidence interval's half width over seeds."""
    mean = statistics.fmean(scores)
    std = statistics.stdev(scores) if len(scores) > 1 else 0.0
    return mean, std, confidence_half_width(scores)


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


def record_verdict(submission: Submission, scores: list[float]) -> Verdict:
    """Whether `submission`, with these seed scores, is a new record (see the module)."""
    benchmark = submission.benchmark
    if benchmark.practice or submission.pk == benchmark.baseline_id or not scores:
        return Verdict()
    holder = record_holder(benchmark, version=submission.benchmark_version, excluding=submission.pk)
    theirs = seed_scores(holder, attempt=holder.result_attempt) if holder is not None else []
    if holder is None or not theirs:
        return Verdict()
    lower = benchmark.metric_direction == Benchmark.Direction.LOWER
    sign = 1.0 if lower else -1.0
    mine_mean, their_mean = statistics.fmean(scores), statistics.fmean(theirs)
    margin = (their_mean - mine_mean) * sign  # > 0: better on average
    if margin <= 0:
        return Verdict(margin=margin)
    mine = [sign * score for score in scores]
    if len(theirs) > 1:
        p = welch_p_lower(mine, [sign * score for score in theirs])
    else:  # the holder ran one seed: its score is taken as a fixed value
        p = one_sample_p_lower(mine, sign * their_mean)
    what = f"{mine_mean:.4f} against the record's {their_mean:.4f} (#{holder.pk})"
    if p is not None and p < benchmark.record_p_value:
        return Verdict(
            record=True, p_value=p, margin=margin, note=f"new record: {what}, p = {p:.2g}"
        )
    shown = "too few seeds to test" if p is None else f"p = {p:.2g}"
    if len(scores) < benchmark.max_seeds:
        seeds = min(benchmark.max_seeds, max(len(scores) + 2, 2 * len(scores)))
        return Verdict(
            seeds=seeds,
            p_value=p,
            margin=margin,
            note=f"better on average ({what}) but not yet significant ({shown}; a record "
            f"needs p < {benchmark.record_p_value:g}): running {seeds - len(scores)} more "
            f"seed{'s' if seeds - len(scores) != 1 else ''}, {seeds} of at most "
            f"{benchmark.max_seeds}",
        )
    return Verdict(
        p_value=p,
        margin=margin,
        note=f"better on average ({what}) but not significant after {len(scores)} "
        f"seed{'s' if len(scores) != 1 else ''} ({shown}; a record needs p < "
        f"{benchmark.record_p_value:g}): not a record",
    )
