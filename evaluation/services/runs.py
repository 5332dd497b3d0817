"""A submission's runs on the platform's side: its seeds, finishing it (score, rank, credit),
cutting it short or failing it, and putting it back on its queue. Its files for the worker are
in `files`, the reaper of runs whose worker died in `reaper`; the worker's calls that lead here
are in `jobs`; the worker itself is `evaluation/agent/`."""

import statistics

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from contrib.ledger import contribution_record
from contrib.models import Contribution, ContributionKind, ContributionSource, Contributor
from evaluation.models import Benchmark, EvaluationRun, Submission, Worker
from evaluation.selectors import benchmark_run_budget, benchmark_spec
from evaluation.services.baselines import baseline_record
from evaluation.services.leaderboard import leaderboard_recompute
from evaluation.services.notify import submission_notify
from evaluation.services.publish import submission_publish
from evaluation.services.records import (
    record_award,
    record_more_seeds,
    record_settle,
    record_verdict,
    records_decide_pending,
    score_interval,
    seed_scores,
    standing_restore,
)
from evaluation.services.submissions import is_standing_top_up
from evaluation.services.transitions import enqueue, submission_transition
from evaluation.services.workers import device_class, worker_reference_rate

Status = Submission.Status
RunStatus = EvaluationRun.Status


def run_seeds(benchmark: Benchmark, count: int | None = None) -> list[int]:
    """The seeds of an official result: the first ``count`` (the benchmark's ``seeds``) of its
    spec's list (a benchmark folder may name its own), then the next numbers not listed."""
    count = count or benchmark.seeds
    seeds = list(benchmark_spec(benchmark).seeds[:count])
    candidate = 0
    while len(seeds) < count:
        if candidate not in seeds:
            seeds.append(candidate)
        candidate += 1
    return seeds


def submission_seeds(submission: Submission) -> list[int]:
    """The seeds this submission runs: the benchmark's, or more while a possible record is not
    yet significant (`records.record_verdict`)."""
    return run_seeds(submission.benchmark, submission.seeds_wanted)


def submission_fail(submission: Submission, reason: str, *, platform_fault: bool = False) -> None:
    """Fail a running (or queued) submission with the reason; a platform fault is not charged
    to the submitter's quota."""
    with transaction.atomic():
        fresh = Submission.objects.select_for_update().get(pk=submission.pk)
        fresh.runs.filter(status=RunStatus.RUNNING).update(
            status=RunStatus.FAILED, error=reason, finished_at=timezone.now()
        )
        if is_standing_top_up(fresh):
            standing_restore(fresh, reason)
            return
        if Status.FAILED in Submission.ALLOWED_TRANSITIONS[fresh.status]:
            submission_transition(submission=fresh, to=Status.FAILED, reason=reason)
            if platform_fault:
                fresh.counts_for_quota = False
                fresh.save(update_fields=["counts_for_quota"])
            submission_publish(submission=fresh)
            submission_notify(submission=fresh)


def submission_retry_after_fault(submission: Submission, run: EvaluationRun, error: str) -> None:
    """A seed failed by the platform's fault, not the submission's (the worker's disk full, an
    engine error): back on the queue for another try, the failure kept on the run."""
    with transaction.atomic():
        fresh = Submission.objects.select_for_update().get(pk=submission.pk)
        if fresh.status != Status.RUNNING:
            return
        EvaluationRun.objects.filter(pk=run.pk).update(
            status=RunStatus.QUEUED, error=f"{error[:2000]}\n(the platform's fault: requeued)"
        )
        submission_requeue(fresh, error="")


def submission_finish(*, submission_id: int) -> str:
    """All seeds scored: the mean and its interval, the record test (more seeds first, its own
    or the holder's, when a possible record is not yet significant), the leaderboard, the
    author's credit. Extra seeds of a result that stands (a record holder's) only refresh its
    figures, then the possible records waiting for them are decided."""
    with transaction.atomic():
        submission = (
            Submission.objects.select_for_update().select_related("benchmark").get(pk=submission_id)
        )
        if submission.status != Status.RUNNING:
            return submission.status
        runs = list(submission.runs.filter(status=RunStatus.OK, attempt=submission.attempt))
        scores = seed_scores(submission, attempt=submission.attempt)
        if is_standing_top_up(submission) and not submission.record_pending:
            _figures(submission, runs, scores)
            submission_transition(submission=submission, to=Status.SCORED)
            _result_landed(submission)
            records_decide_pending(benchmark=submission.benchmark)
            return Status.SCORED
        device = _result_device(runs)
        verdict = record_verdict(submission, scores, device=device)
        if verdict.seeds is not None:  # better on average, not yet significant: more seeds
            record_more_seeds(submission, verdict)
            return Status.QUEUED
        _figures(submission, runs, scores)
        submission.result_device = device
        record_settle(submission, verdict)
        submission.result_attempt = submission.attempt  # this complete result replaces the last
        submission_transition(submission=submission, to=Status.SCORED)
        _result_landed(submission)
        submission_notify(submission=submission)
        if submission.contributor is not None:
            contribution_record(
                contributor=submission.contributor,
                kind=ContributionKind.EVALUATION,
                occurred_at=submission.finished_at or timezone.now(),
                source=ContributionSource.PLATFORM,
                external_id=_evaluation_credit_key(submission),
                title=f"{submission.benchmark.slug}: {submission.mean_val_bpb:.4f} bpb",
                metadata={"submission": submission.pk, "benchmark": submission.benchmark.slug},
            )
            record_award(submission)
    return Status.SCORED


def _figures(submission: Submission, runs: list[EvaluationRun], scores: list[float]) -> None:
    submission.mean_val_bpb, submission.std_val_bpb, submission.ci_val_bpb = score_interval(scores)
    tests = [run.test_bits_per_byte for run in runs if run.test_bits_per_byte is not None]
    submission.mean_test_bpb = statistics.fmean(tests) if len(tests) == len(runs) else None


def _result_device(runs: list[EvaluationRun]) -> str:
    """The device class most of a result's seeds ran on."""
    devices = [device_class(run.device) for run in runs if run.device]
    return max(sorted(set(devices)), key=devices.count) if devices else ""


def _result_landed(submission: Submission) -> None:
    """A complete result is stored: the baseline's kept for its device class, the board, the
    commit status and comment."""
    if submission.pk == submission.benchmark.baseline_id:
        baseline_record(submission)
    leaderboard_recompute(benchmark=submission.benchmark)
    submission_publish(submission=submission)


def submission_cut_short(*, submission: Submission, run: EvaluationRun, worker: Worker) -> None:
    """A seed that trained on less than its whole byte budget (the training cap came first):
    the submission is not scored. Whose fault, from the worker's own measure of the reference
    model on this benchmark (`worker_reference_rate`): a worker slower than the benchmark
    assumes gets the job requeued once, for another worker, without charging anyone; a model
    slower than the budget needs makes the submission incomplete, with its bytes/s against what
    the budget needs. Its other seeds do not run: the same model is as slow on them."""
    benchmark = submission.benchmark
    budget, cap = benchmark_run_budget(benchmark)
    needed = budget / cap
    figures = run.metrics or {}
    trained = int(figures.get("bytes_trained") or 0)
    rate = figures.get("bytes_per_second")
    reference = worker_reference_rate(worker=worker, benchmark=benchmark)
    machine_slow = reference is not None and reference < needed
    how_far = (
        f"seed {run.seed} trained {trained:,} of its {budget:,} bytes "
        f"({100 * trained / max(budget, 1):.0f} %) before the {cap:.0f} s training cap"
    )
    with transaction.atomic():
        fresh = Submission.objects.select_for_update().get(pk=submission.pk)
        if fresh.status != Status.RUNNING:
            return
        if machine_slow and fresh.slow_requeues == 0:
            fresh.slow_requeues += 1
            fresh.save(update_fields=["slow_requeues"])
            EvaluationRun.objects.filter(pk=run.pk).update(
                status=RunStatus.QUEUED,
                error=f"{how_far} on worker {worker.name}, slower than this benchmark needs; "
                "requeued for another worker",
            )
            submission_requeue(fresh, error="")
            return
        if is_standing_top_up(fresh):  # extra seeds of a result that stands: it stays as it was
            standing_restore(fresh, how_far)
            return
        if machine_slow:
            reason = (
                f"{how_far}: the workers that ran it are too slow for this benchmark (the "
                f"reference model trains at {reference:,.0f} bytes/s on {worker.name}; the budget "
                f"needs {needed:,.0f}). Not charged to your quota: a maintainer can re-run it"
            )
        else:
            speed = f"{rate:,.0f}" if isinstance(rate, int | float) else "an unknown number of"
            reason = f"{how_far}: the model trained at {speed} bytes/s and the budget needs " + (
                f"{needed:,.0f} within the cap"
            )
            if reference is not None:
                reason += f" (the reference model trains at {reference:,.0f} on this worker)"
            reason += ". Make it faster or smaller"
        submission_transition(submission=fresh, to=Status.INCOMPLETE, reason=reason)
        if machine_slow:
            fresh.counts_for_quota = False
            fresh.save(update_fields=["counts_for_quota"])
        submission_publish(submission=fresh)
        submission_notify(submission=fresh)


def _evaluation_credit_key(submission: Submission) -> str:
    """The ledger key of a scored submission's `evaluation` contribution (scored: every seed
    complete): its own when it beats the baseline and its author's own best earlier score on
    the benchmark; otherwise one per contributor, benchmark and ISO week, so that neither a
    stream of configs nor the same good config sent again is a steady income (README, "What
    earns points")."""
    benchmark = submission.benchmark
    baseline = benchmark.baseline
    assert submission.contributor is not None
    own_key = f"evaluation:{submission.pk}"
    if Contribution.objects.filter(
        source=ContributionSource.PLATFORM, external_id=own_key
    ).exists():
        return own_key  # credited before (a re-run): the same row, never a second
    # One result of this author at a time: the best is read after the last one's commit.
    Contributor.objects.select_for_update().filter(pk=submission.contributor.pk).first()
    own_best = (
        Submission.objects.filter(
            benchmark=benchmark,
            contributor=submission.contributor,
            status=Status.SCORED,
            mean_val_bpb__isnull=False,
        )
        .exclude(pk=submission.pk)
        .aggregate(best=Min("mean_val_bpb"))["best"]
    )
    beats = (
        baseline is not None
        and baseline.pk != submission.pk
        and baseline.mean_val_bpb is not None
        and submission.mean_val_bpb is not None
        and submission.mean_val_bpb < baseline.mean_val_bpb
        and (own_best is None or submission.mean_val_bpb < own_best)
    )
    if beats:
        return own_key
    year, week, _day = (submission.finished_at or timezone.now()).isocalendar()
    return f"evaluation:{benchmark.slug}:{submission.contributor.pk}:{year}-W{week:02d}"


def submission_requeue(submission: Submission, *, error: str) -> None:
    """Back on the queue for another worker: every seed it was running goes back too, so the
    worker that held them holds nothing now."""
    submission.runs.filter(status=RunStatus.RUNNING).update(status=RunStatus.QUEUED, error=error)
    submission_transition(submission=submission, to=Status.QUEUED)
    enqueue(submission)
    submission_publish(submission=submission)
