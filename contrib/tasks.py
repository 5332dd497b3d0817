"""Celery tasks of the contrib app: a few lines each, calling one service."""

from celery import shared_task

from contrib.github.services import webhook_delivery_process


@shared_task(name="contrib.process_github_delivery", queue="default", acks_late=True)
def process_github_delivery(delivery_id: str) -> str:
    """Map one stored GitHub delivery to ledger rows and mirrors (idempotent)."""
    return webhook_delivery_process(delivery_id=delivery_id)
