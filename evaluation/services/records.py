"""Records by significance: a scored submission is a new record only when a one-sided Welch
t-test over its seeds and the record holder's says it is better with p below the benchmark's
threshold (modded-nanogpt's rule for its speedrun records, checked by hand there). Better on
average but not yet significant: the platform runs more seeds, on the side with fewer (the
record holder's too: its result stands meanwhile), up to the benchmark's cap, before it decides.
A baseline is compared on the challenger's device class where it ran there (`baselines`)."""

import statistics
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from contrib.badges import award_grant, badges_ensure
from evaluation.models import Benchmark, EvaluationRun, Submission
from evaluation.selectors import baseline_scores, record_holder
from evaluation.services.publish import submission_publish
from evaluation.services.submissions import submission_rerun
from evaluation.services.transitions import enqueue, submission_transition
from evaluation.services.workers import live_device_classes
from evaluation.stats import confidence_half_width, one_sample_p_lower, welch_p_lower

Status = Submission.Status
RESTING = (Status.SCORED, Status.INCOMPLETE, Status.FAILED, Status.CANCELLED)
RunStatus = EvaluationRun.Status


@dataclass(frozen=True)
class Verdict:
    """What a scored submission's seeds say against the record holder: `record`; or the seeds
    to have before deciding, `seeds` more of its own and `holder_seeds` of the holder's; or
    `wait` for the holder's seeds now running; and a sentence for the page and the PR."""

    record: bool = False
    seeds: int | None = None
    holder_seeds: int | None = None
    holder: Submission | None = None
    device: str = ""
    wait: bool = False
    p_value: float | None = None
    margin: float | None = None
    note: str = ""

    @property
    def pending(self) -> bool:
        """Not decided yet: more seeds first, on either side."""
        return self.wait or self.seeds is not None or self.holder_seeds is not None


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


def holder_scores(holder: Submission, *, device: str) -> tuple[list[float], str]:
    """The holder's seed scores to test against, and the device class they ran on: for the
    baseline, its result on the challenger's device class when it has one (like with like)."""
    benchmark = holder.benchmark
    if holder.pk == benchmark.baseline_id:
        on_device = baseline_scores(benchmark, device)
        if on_device:
            return on_device, device
    return seed_scores(holder, attempt=holder.result_attempt), holder.result_device


def _grown(count: int, cap: int) -> int:
    return min(cap, max(count + 2, 2 * count))


def _plural(count: int) -> str:
    return f"{count} more seed{'s' if count != 1 else ''}"


def record_verdict(
    submission: Submission, scores: list[float], *, device: str = "", grow_holder: bool = True
) -> Verdict:
    """Whether `submission`, with these seed scores on this device class, is a new record (see
    the module). Better on average but not significant: the side with fewer seeds gets more
    (both on a par), each up to the benchmark's `max_seeds`; the holder only while its result
    stands at rest and a worker of its device class serves the queue (`grow_holder`)."""
    benchmark = submission.benchmark
    if benchmark.practice or submission.pk == benchmark.baseline_id or not scores:
        return Verdict()
    holder = record_holder(benchmark, version=submission.benchmark_version, excluding=submission.pk)
    if holder is None:
        return Verdict()
    theirs, their_device = holder_scores(holder, device=device)
    if not theirs:
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
    cap = benchmark.max_seeds
    # The baseline grows on the challenger's class (an attempt there if it has none); any other
    # holder only on its own, as more seeds of the result it shows.
    grow_to = (device or their_device) if holder.pk == benchmark.baseline_id else their_device
    busy = holder.status in (Status.QUEUED, Status.RUNNING)
    holder_can = (
        grow_holder
        and len(theirs) < cap
        and holder.status == Status.SCORED
        and (not grow_to or grow_to in live_device_classes(benchmark=benchmark))
    )
    # One holder seed is tested as a fixed value, which its own noise makes too easy to beat:
    # while it can get more, a record waits for them.
    fixed = len(theirs) == 1 and (busy or holder_can)
    if p is not None and p < benchmark.record_p_value and not fixed:
        return Verdict(
            record=True, p_value=p, margin=margin, note=f"new record: {what}, p = {p:.2g}"
        )
    shown = "too few seeds to test" if p is None else f"p = {p:.2g}"
    if p is not None and p < benchmark.record_p_value:
        shown += " against its one seed"
    unsure = (
        f"better on average ({what}) but not yet significant ({shown}; a record needs "
        f"p < {benchmark.record_p_value:g})"
    )
    if busy:
        return Verdict(
            wait=True,
            p_value=p,
            margin=margin,
            note=f"{unsure}: decided when the record holder #{holder.pk}'s run now under way is in",
        )
    mine_grows = len(scores) < cap and not fixed and (len(scores) <= len(theirs) or not holder_can)
    theirs_grow = holder_can and (len(theirs) <= len(scores) or not mine_grows)
    if not mine_grows and not theirs_grow:
        return Verdict(
            p_value=p,
            margin=margin,
            note=f"better on average ({what}) but not significant after {len(scores)} "
            f"seed{'s' if len(scores) != 1 else ''} against {len(theirs)} ({shown}; a record "
            f"needs p < {benchmark.record_p_value:g}): not a record",
        )
    seeds = _grown(len(scores), cap) if mine_grows else None
    holder_seeds = _grown(len(theirs), cap) if theirs_grow else None
    more = []
    if seeds is not None:
        more.append(f"{_plural(seeds - len(scores))} of this submission ({seeds} of at most {cap})")
    if holder_seeds is not None:
        more.append(
            f"{_plural(holder_seeds - len(theirs))} of the record holder #{holder.pk}'s "
            f"({holder_seeds} of at most {cap}{f', on {grow_to}' if grow_to else ''})"
        )
    return Verdict(
        seeds=seeds,
        holder_seeds=holder_seeds,
        holder=holder,
        device=grow_to,
        p_value=p,
        margin=margin,
        note=f"{unsure}: running {' and '.join(more)} before deciding",
    )


def holder_grow(verdict: Verdict) -> None:
    """Give the record holder the extra seeds a verdict asks for, on the device class it names:
    more seeds of its result's attempt where that ran there; for the baseline on another class,
    an attempt there. Its result stands meanwhile (`Submission.result_attempt`)."""
    holder, seeds = verdict.holder, verdict.holder_seeds
    if holder is None or seeds is None:
        return
    fresh = Submission.objects.select_for_update().select_related("benchmark").get(pk=holder.pk)
    if fresh.status != Status.SCORED:
        return
    baseline = fresh.pk == fresh.benchmark.baseline_id
    if baseline and verdict.device and fresh.result_device not in ("", verdict.device):
        submission_rerun(submission=fresh, seeds=seeds, only_on=verdict.device)
        return
    fresh.seeds_wanted = seeds
    fresh.only_on = fresh.result_device
    fresh.claims = 0
    submission_transition(
        submission=fresh,
        to=Status.QUEUED,
        reason=f"{_plural(seeds - len(seed_scores(fresh, attempt=fresh.attempt)))} to "
        "test a possible new record against",
    )
    enqueue(fresh)
    submission_publish(submission=fresh)


def record_award(submission: Submission) -> None:
    """A new record's badge: one per contributor and benchmark, however many records."""
    if not submission.is_record or submission.contributor is None:
        return
    award_grant(
        badge=badges_ensure()["leaderboard-record"],
        contributor=submission.contributor,
        citation=f"{submission.benchmark.slug}: {submission.mean_val_bpb:.4f} bpb "
        f"(submission #{submission.pk})",
        period_key=submission.benchmark.slug[:20],
    )


def record_more_seeds(submission: Submission, verdict: Verdict) -> None:
    """Back to the queue (locked, with all its seeds scored) for the extra seeds a verdict
    asks of it, and the holder's too; the result it shows, if any, stands meanwhile."""
    submission.seeds_wanted = verdict.seeds
    submission.claims = 0
    submission.record_pending = True
    submission.record_note = verdict.note[:500]
    submission_transition(submission=submission, to=Status.QUEUED, reason=verdict.note)
    enqueue(submission)
    holder_grow(verdict)
    submission_publish(submission=submission)


def record_settle(submission: Submission, verdict: Verdict) -> None:
    """Write a verdict on a submission whose seeds are all in (locked; the caller saves):
    decided, or pending the holder's seeds (which it asks for)."""
    submission.is_record = verdict.record
    submission.record_p_value = verdict.p_value
    submission.record_note = verdict.note[:500]
    submission.record_pending = verdict.pending
    holder_grow(verdict)


def standing_restore(submission: Submission, reason: str) -> None:
    """Extra seeds of a result that stands (a record holder's, or a possible record's own)
    could not all run: it goes back to scored as it was, with the seeds that did run, and is
    no longer a pending record (more tries could fail the same way)."""
    scores = seed_scores(submission, attempt=submission.attempt)
    if scores:
        submission.mean_val_bpb, submission.std_val_bpb, submission.ci_val_bpb = score_interval(
            scores
        )
    if submission.record_pending:
        submission.record_pending = False
        submission.record_note = f"not a record: its extra seeds did not all run ({reason})"[:500]
    submission_transition(
        submission=submission, to=Status.SCORED, reason=f"extra seeds did not all run: {reason}"
    )
    submission_publish(submission=submission)


def records_decide_pending(*, benchmark: Benchmark, grow_holder: bool = True) -> int:
    """Decide the benchmark's scored possible records waiting for their holder's seeds, now
    that the holder is at rest (from the holder's finish; and from the reaper, without asking
    the holder for more, so that a holder whose seeds fail asks nothing forever). Returns how
    many were decided or sent for more seeds."""
    moved = 0
    waiting = Submission.objects.filter(
        benchmark=benchmark, status=Status.SCORED, record_pending=True
    ).values_list("pk", flat=True)
    for pk in list(waiting):
        submission = Submission.objects.select_for_update().select_related("benchmark").get(pk=pk)
        if submission.status != Status.SCORED or not submission.record_pending:
            continue
        scores = seed_scores(submission, attempt=submission.result_attempt)
        verdict = record_verdict(
            submission, scores, device=submission.result_device, grow_holder=grow_holder
        )
        if verdict.wait:
            continue
        moved += 1
        if verdict.seeds is not None:
            record_more_seeds(submission, verdict)
            continue
        record_settle(submission, verdict)
        submission.save()
        submission_publish(submission=submission)
        record_award(submission)
    return moved


def baselines_refresh() -> list[str]:
    """The beat's (`evaluation.refresh_baselines`): re-run each official benchmark's baseline
    on the first device class of its queue's live workers whose result there is missing or
    older than `EVALUATION_BASELINE_REFRESH` (one class at a time: a submission runs one
    attempt at a time). Returns what it queued."""
    every = settings.EVALUATION_BASELINE_REFRESH
    if every <= 0:
        return []
    stale_before = timezone.now() - timedelta(seconds=every)
    queued = []
    benchmarks = Benchmark.objects.filter(active=True, practice=False, baseline__isnull=False)
    for benchmark in benchmarks.select_related("baseline"):
        baseline = benchmark.baseline
        if baseline is None or baseline.status not in RESTING or baseline.result_attempt is None:
            continue
        for device in live_device_classes(benchmark=benchmark):
            found = (benchmark.baseline_results or {}).get(device) or {}
            at = parse_datetime(str(found.get("at") or ""))
            fresh = found.get("version") == benchmark.data_version and at and at >= stale_before
            if fresh:
                continue
            with transaction.atomic():
                submission_rerun(submission=baseline, only_on=device)
            queued.append(f"{benchmark.slug}@{device}")
            break
    return queued
