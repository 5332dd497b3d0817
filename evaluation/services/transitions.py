"""The submission state machine: the one way a status changes, and queueing a submission
for its benchmark's workers."""

from celery import Celery
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from evaluation.agent import EVALUATE_TASK
from evaluation.agent.app import dispatcher
from evaluation.errors import TransitionError
from evaluation.models import Submission

Status = Submission.Status


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
    elif to in (
        Status.SCORED,
        Status.INCOMPLETE,
        Status.FAILED,
        Status.CANCELLED,
        Status.SUPERSEDED,
    ):
        submission.finished_at = now
    if save:
        submission.save()
    return submission


def enqueue(submission: Submission) -> None:
    """Queue the submission's evaluation on its benchmark's queue once this transaction
    commits (a worker never reads a row that is not committed yet)."""
    benchmark = submission.benchmark
    if submission.benchmark_version != benchmark.data_version:
        # Queued again after the benchmark's data changed: it runs on, and ranks with, the new;
        # a result on the old data is not one on the new.
        submission.benchmark_version = benchmark.data_version
        submission.result_attempt = None
        Submission.objects.filter(pk=submission.pk).update(
            benchmark_version=benchmark.data_version, result_attempt=None
        )
    queue_name = benchmark.queue
    submission.dispatched_at = timezone.now()
    Submission.objects.filter(pk=submission.pk).update(dispatched_at=submission.dispatched_at)
    transaction.on_commit(lambda: evaluation_send(submission.pk, queue=queue_name))


def evaluation_send(submission_id: int, *, queue: str) -> None:
    """Hand a submission to the evaluation workers of `queue` (by the task's name: they are
    not this Django project's workers, see `evaluation/agent/`)."""
    global _dispatcher
    if _dispatcher is None or _dispatcher[0] != settings.CELERY_BROKER_URL:
        app = dispatcher(broker_url=settings.CELERY_BROKER_URL, var_dir=str(settings.VAR_DIR))
        _dispatcher = (settings.CELERY_BROKER_URL, app)
    _dispatcher[1].send_task(EVALUATE_TASK, args=[submission_id], queue=queue)


_dispatcher: tuple[str, Celery] | None = None
