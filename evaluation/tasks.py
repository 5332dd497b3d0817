"""Celery tasks of evaluation: a few lines each, calling one service."""

from celery import shared_task

from evaluation.services import runs_reap_stale, submission_evaluate


@shared_task(name="evaluation.evaluate_submission", acks_late=True)
def evaluate_submission(submission_id: int) -> str:
    """Train and score a queued submission on this worker (routed to the benchmark's queue at
    send time). Idempotent: a redelivered task for a finished submission does nothing."""
    return submission_evaluate(submission_id=submission_id)


@shared_task(name="evaluation.reap_stale_runs", queue="default")
def reap_stale_runs() -> dict[str, int]:
    """Periodic (beat): requeue or fail runs whose worker stopped sending heartbeats."""
    return runs_reap_stale()
