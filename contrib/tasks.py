"""Celery tasks of the contrib app: a few lines each, calling one service.

Each task imports its service when it runs: services queue these tasks, so this module imports
nothing of the app at load time (the one lazy import the app's layout allows).
"""

from typing import Any

from celery import shared_task

BATCH = 50  # deliveries per message at most (`contrib/github/dispatch.py`)


@shared_task(name="contrib.process_github_delivery", queue="default", acks_late=True)
def process_github_delivery(delivery_id: str) -> str:
    """Map one stored GitHub delivery to ledger rows and mirrors (idempotent). Messages queued
    before batches existed are still taken."""
    from contrib.github.services import webhook_delivery_process

    return webhook_delivery_process(delivery_id=delivery_id)


@shared_task(name="contrib.process_github_deliveries", queue="default", acks_late=True)
def process_github_deliveries(delivery_ids: list[str]) -> list[str]:
    """Process stored deliveries, each once and in its own transaction (a batch a web process
    sent; redelivered after a crash, those done are skipped)."""
    from contrib.github.services import webhook_delivery_process

    return [webhook_delivery_process(delivery_id=str(d)) for d in list(delivery_ids)[:BATCH]]


@shared_task(name="contrib.requeue_stale_deliveries", queue="default")
def requeue_stale_deliveries() -> int:
    """Periodic (beat): deliveries pending `GITHUB_REQUEUE_AFTER` are queued again; none is
    lost."""
    from contrib.github.services import webhook_deliveries_requeue_stale

    return webhook_deliveries_requeue_stale()


@shared_task(name="contrib.requeue_stale_github_answers", queue="default")
def requeue_stale_github_answers() -> int:
    """Periodic (beat): GitHub answers and bot commands pending for too long (their message
    was lost) are queued again; sending each stays once."""
    from contrib.github.answers import github_answers_resend_stale
    from contrib.github.bot import bot_commands_requeue_stale

    return github_answers_resend_stale() + bot_commands_requeue_stale()


@shared_task(
    name="contrib.sync_repository", queue="default", bind=True, acks_late=True, max_retries=3
)
def sync_repository(self: Any, repository_id: int) -> str:
    """Incremental backfill of one repository (resumes a stopped run; idempotent). A rate limit
    too long to wait for in-process is waited for by retrying after its reset."""
    from contrib.github.backfill import SyncAlreadyRunning, repository_sync
    from contrib.github.client import GitHubRateLimitWaitTooLong
    from contrib.models import Repository

    try:
        return repository_sync(repository=Repository.objects.get(pk=repository_id)).state
    except SyncAlreadyRunning:
        return "running"
    except GitHubRateLimitWaitTooLong as exc:
        raise self.retry(exc=exc, countdown=exc.wait + 5) from exc


@shared_task(name="contrib.sync_tracked_repositories", queue="default")
def sync_tracked_repositories() -> int:
    """Periodic (beat): queue the incremental backfill of every tracked repository."""
    from contrib.github.backfill import repositories_sync_queue

    return repositories_sync_queue()


@shared_task(
    name="contrib.send_github_answer", queue="default", bind=True, acks_late=True, max_retries=6
)
def send_github_answer(self: Any, answer_id: int) -> str:
    """Send a stored status, comment, check run or bot reply to GitHub; retried with backoff on
    transient failures, marked failed on the object after the last try."""
    from contrib.github.answers import AnswerFailed, github_answer_send

    try:
        return github_answer_send(
            answer_id=answer_id, final_attempt=self.request.retries >= self.max_retries
        )
    except AnswerFailed as exc:
        raise self.retry(exc=exc, countdown=min(600, 15 * 2**self.request.retries)) from exc


@shared_task(
    name="contrib.run_bot_commands", queue="default", bind=True, acks_late=True, max_retries=5
)
def run_bot_commands(self: Any, comment_id: int) -> list[str]:
    """Run the `@crucible` commands of one GitHub comment and reply (idempotent)."""
    from contrib.github.bot import bot_commands_run
    from contrib.github.client import is_transient

    try:
        return bot_commands_run(comment_id=comment_id)
    except Exception as exc:
        if not is_transient(exc):
            raise
        raise self.retry(exc=exc, countdown=min(600, 15 * 2**self.request.retries)) from exc


@shared_task(name="contrib.freeze_honor_rolls", queue="default")
def freeze_honor_rolls() -> int:
    """Periodic (beat): freeze the honour rolls of periods that just ended."""
    from contrib.honor_rolls import honor_rolls_freeze_ended

    return len(honor_rolls_freeze_ended())


@shared_task(name="contrib.evaluate_badges", queue="default")
def evaluate_badges() -> int:
    """Periodic (beat): grant the rule badges earned since the last pass (idempotent)."""
    from contrib.badges import badges_evaluate

    return badges_evaluate()
