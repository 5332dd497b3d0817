"""The reaper (a periodic task): runs whose worker stopped beating, claims a dead worker left,
queued jobs whose message was lost or whose class of worker left, and possible records whose
holder is at rest. Nothing stays `running` forever, nothing `queued` without a job."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from evaluation.models import Benchmark, EvaluationRun, Submission
from evaluation.services.records import records_decide_pending, standing_restore
from evaluation.services.runs import submission_fail, submission_requeue
from evaluation.services.submissions import is_standing_top_up, submission_cancel
from evaluation.services.transitions import enqueue
from evaluation.services.workers import live_device_classes

Status = Submission.Status
RunStatus = EvaluationRun.Status


def runs_reap_stale(*, stale_after: timedelta | None = None) -> dict[str, int]:
    """Find running submissions whose worker stopped beating: requeue once, then fail them
    with "worker lost". Nothing stays `running` forever, and nothing `queued` without a job on
    its queue (`_redispatch_waiting`)."""
    stale_after = stale_after or timedelta(seconds=settings.EVALUATION_HEARTBEAT_TIMEOUT)
    cutoff = timezone.now() - stale_after
    # A worker that keeps beating may still hold a run no longer than a run may take.
    overdue = cutoff - timedelta(seconds=settings.EVALUATION_RUN_TIMEOUT)
    counts = {"requeued": 0, "failed": 0, "redispatched": 0, "decided": 0}
    stale = EvaluationRun.objects.filter(status=RunStatus.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(started_at__lt=overdue)
    )
    for run in stale.select_related("submission"):
        with transaction.atomic():
            submission = Submission.objects.select_for_update().get(pk=run.submission_id)
            locked = EvaluationRun.objects.select_for_update().get(pk=run.pk)
            if locked.status != RunStatus.RUNNING or submission.status != Status.RUNNING:
                continue
            host = locked.worker_host or "an unknown host"
            if locked.attempts < 2:
                submission_requeue(submission, error=f"worker lost on {host}; requeued")
                counts["requeued"] += 1
            else:
                submission_fail(
                    submission, f"worker lost twice (last on {host})", platform_fault=True
                )
                counts["failed"] += 1
    _reap_lost_claims(cutoff=cutoff, counts=counts)
    counts["redispatched"] = _redispatch_waiting()
    _give_up_unserved()
    counts["decided"] = _decide_waiting()
    return counts


def _give_up_unserved() -> None:
    """Jobs for one class of worker (`only_on`: a record test's extra seeds, a baseline's
    attempt on a class) waiting longer than `EVALUATION_REDISPATCH_AFTER` while no live worker
    has that class: extra seeds give the result back as it was, an attempt is cancelled (the
    result it would replace stays). A record test never waits for ever on a machine that left."""
    before = timezone.now() - timedelta(seconds=settings.EVALUATION_REDISPATCH_AFTER)
    waiting = Submission.objects.filter(status=Status.QUEUED, queued_at__lt=before).exclude(
        only_on=""
    )
    for candidate in waiting.select_related("benchmark"):
        if candidate.only_on in live_device_classes(benchmark=candidate.benchmark):
            continue
        reason = f"no {candidate.only_on} worker took it"
        with transaction.atomic():
            submission = Submission.objects.select_for_update().get(pk=candidate.pk)
            if submission.status != Status.QUEUED:
                continue
            if is_standing_top_up(submission):
                standing_restore(submission, reason)
            else:
                submission_cancel(submission=submission, reason=reason)


def _decide_waiting() -> int:
    """Possible records still waiting for a record holder that is at rest (its extra seeds
    ended some way the holder's finish did not see): decided with the seeds there are."""
    benchmarks = Benchmark.objects.filter(
        pk__in=Submission.objects.filter(status=Status.SCORED, record_pending=True).values(
            "benchmark_id"
        )
    )
    decided = 0
    for benchmark in benchmarks:
        with transaction.atomic():
            decided += records_decide_pending(benchmark=benchmark, grow_holder=False)
    return decided


def _redispatch_waiting() -> int:
    """Send again the job of each submission queued (and last sent) longer ago than
    `EVALUATION_REDISPATCH_AFTER`: a message the broker lost strands nothing. A spare message
    is harmless: a claim takes the queue's next submission, or nothing when none waits."""
    before = timezone.now() - timedelta(seconds=settings.EVALUATION_REDISPATCH_AFTER)
    waiting = Submission.objects.filter(status=Status.QUEUED).filter(
        Q(dispatched_at__lt=before) | Q(dispatched_at__isnull=True, queued_at__lt=before)
    )
    sent = 0
    for submission in waiting.select_related("benchmark"):
        with transaction.atomic():
            enqueue(submission)
        sent += 1
    return sent


def _reap_lost_claims(*, cutoff: datetime, counts: dict[str, int]) -> None:
    """Running submissions with no running seed whose worker took them before ``cutoff`` and
    reported nothing since (it died between two calls): requeued, failed after three claims."""
    claimed = Submission.objects.filter(status=Status.RUNNING, claimed_at__lt=cutoff).exclude(
        runs__status=RunStatus.RUNNING
    )
    for candidate in claimed:
        with transaction.atomic():
            submission = Submission.objects.select_for_update().get(pk=candidate.pk)
            runs = submission.runs.all()
            recent = runs.filter(finished_at__gte=cutoff).exists()
            if (
                submission.status != Status.RUNNING
                or runs.filter(status=RunStatus.RUNNING).exists()
                or recent
                or submission.claimed_at is None
                or submission.claimed_at >= cutoff
            ):
                continue
            if submission.claims < 3:
                submission_requeue(submission, error="")
                counts["requeued"] += 1
            else:
                reason = f"lost by its worker {submission.claims} times before a seed finished"
                submission_fail(submission, reason, platform_fault=True)
                counts["failed"] += 1
