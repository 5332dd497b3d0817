"""The submission state machine: the one way a status changes, and queueing a submission
for its benchmark's workers."""

from django.db import transaction
from django.utils import timezone

from contrib.errors import InvalidError
from evaluation.models import Submission
from evaluation.tasks import evaluate_submission

Status = Submission.Status


class TransitionError(InvalidError):
    """A status change that the submission's state machine does not allow."""


def submission_transition(
    *, submission: Submission, to: str, reason: str = "", save: bool = True
) -> Submission:
    """Move a submission to `to` if its state machine allows it; refuse otherwise."""
    allowed = Submission.ALLOWED_TRANSITIONS[submission.status]
    if to not in allowed:
        raise TransitionError(
            f"submission #{submission.pk} cannot go from {submission.status} to {to}"
        )
    now = timezone.now()
    submission.status = to
    if reason or to in (Status.QUEUED, Status.RUNNING, Status.SCORED):
        submission.reason = reason
    if to == Status.QUEUED:
        submission.queued_at = now
        submission.finished_at = None
    elif to == Status.RUNNING:
        submission.started_at = submission.started_at or now
    elif to in (Status.SCORED, Status.FAILED, Status.CANCELLED, Status.SUPERSEDED):
        submission.finished_at = now
    if save:
        submission.save()
    return submission


def enqueue(submission: Submission) -> None:
    """Queue the submission's evaluation on its benchmark's queue once this transaction
    commits (a worker never reads a row that is not committed yet)."""
    benchmark = submission.benchmark
    if submission.benchmark_version != benchmark.data_version:
        # Queued again after the benchmark's data changed: it runs on, and ranks with, the new.
        submission.benchmark_version = benchmark.data_version
        Submission.objects.filter(pk=submission.pk).update(benchmark_version=benchmark.data_version)
    queue_name = benchmark.queue
    transaction.on_commit(
        lambda: evaluate_submission.apply_async(args=[submission.pk], queue=queue_name)
    )
