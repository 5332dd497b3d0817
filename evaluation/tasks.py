"""Celery tasks of evaluation that the platform's own workers run: a few lines each, calling one
service. Evaluations are not among them: evaluation workers (`evaluation/agent/`) run those,
holding no platform secrets, and reach the platform through its worker API.

Each task imports its service when it runs: services queue these tasks, so this module imports
nothing of the app at load time (the one lazy import the app's layout allows).
"""

from typing import Any

from celery import shared_task


@shared_task(name="evaluation.reap_stale_runs", queue="default")
def reap_stale_runs() -> dict[str, int]:
    """Periodic (beat): requeue or fail runs whose worker stopped sending heartbeats."""
    from evaluation.services.reaper import runs_reap_stale

    return runs_reap_stale()


@shared_task(name="evaluation.refresh_baselines", queue="default")
def refresh_baselines() -> list[str]:
    """Periodic (beat): re-run a baseline on a device class whose result there is stale."""
    from evaluation.services.records import baselines_refresh

    return baselines_refresh()


@shared_task(
    name="evaluation.intake_pull_request",
    queue="default",
    bind=True,
    acks_late=True,
    max_retries=5,
)
def intake_pull_request(self: Any, repository_id: int, pull_request: dict[str, Any]) -> list[int]:
    """Turn a pull request's head SHA into submissions (asks GitHub for its files and its
    author's rights); GitHub's transient failures are retried with backoff. Idempotent."""
    from contrib.github.client import is_transient
    from evaluation.services.intake import pull_request_intake

    try:
        created = pull_request_intake(repository_id=repository_id, pull_request=pull_request)
    except Exception as exc:
        if not is_transient(exc):
            raise
        raise self.retry(exc=exc, countdown=min(600, 15 * 2**self.request.retries)) from exc
    return [submission.pk for submission in created]


@shared_task(
    name="evaluation.notify_author", queue="default", bind=True, acks_late=True, max_retries=5
)
def notify_author(self: Any, submission_id: int) -> bool:
    """E-mail a finished submission's author; a mail server's hiccup is retried with backoff."""
    from evaluation.services.notify import submission_email

    try:
        return submission_email(submission_id=submission_id)
    except OSError as exc:  # smtplib's errors are OSErrors: the server is down or refused us
        raise self.retry(exc=exc, countdown=min(600, 30 * 2**self.request.retries)) from exc
