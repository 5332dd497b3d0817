"""Webhook deliveries: receive once, process once, reprocess on a maintainer's request."""

import functools
import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connections, transaction
from django.utils import timezone

from contrib.github.dispatch import dispatcher
from contrib.github.registry import DeliveryIgnored, handler_name, handlers_for
from contrib.models import WebhookDelivery
from contrib.models.github import CheckedJSON
from contrib.tasks import BATCH, process_github_deliveries

logger = logging.getLogger(__name__)

Outcome = WebhookDelivery.Outcome


def _enqueue(delivery_id: str) -> None:
    # After commit, so that the worker never looks for a row it cannot see yet.
    transaction.on_commit(lambda: dispatcher.send(delivery_id))


@functools.cache
def _insert_statement(vendor: str) -> tuple[list[Any], str]:
    """The fields and the INSERT of `_insert`, built once per database kind (not per request).
    Every name is the model's, quoted; the values are parameters."""
    connection = next(c for c in connections.all() if c.vendor == vendor)
    meta = WebhookDelivery._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(f.column)) for f in fields)
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({quote(str(meta.get_field('delivery_id').column))}) DO NOTHING "
        f"RETURNING {quote(str(meta.pk.column))}"
    )
    return fields, sql


def _insert(delivery: WebhookDelivery) -> bool:
    """INSERT the delivery unless its id is stored already; True if it was. One statement
    (`ON CONFLICT DO NOTHING`): a redelivery raises nothing and needs no savepoint, and in
    autocommit the statement commits by itself (no BEGIN and COMMIT round trips). The ORM's
    `create` around the same statement took twice the CPU (benchmarks/RESULTS.md)."""
    connection = transaction.get_connection()
    fields, sql = _insert_statement(connection.vendor)
    params = [f.get_db_prep_save(f.pre_save(delivery, True), connection) for f in fields]

    def send() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            return False
        delivery.pk, delivery._state.adding, delivery._state.db = row[0], False, connection.alias
        return True

    if connection.in_atomic_block:
        return send()
    # The INSERT checks the connection itself: rather than Django's health check (a `SELECT 1`
    # before a request's first query, as long as the INSERT on PostgreSQL), a connection found
    # broken (the database restarted since its last use) is replaced and the INSERT sent once
    # more.
    connection.health_check_done = True
    try:
        return send()
    except (OperationalError, InterfaceError):
        if connection.connection is not None and connection.is_usable():
            raise  # the database refused the row: not a stale connection
        connection.close()
        return send()


def webhook_delivery_receive(
    *,
    delivery_id: str,
    event: str,
    payload: Any,
    hook_id: int | None = None,
    payload_text: str | None = None,
) -> tuple[WebhookDelivery, bool]:
    """Store a verified delivery and queue its processing; a redelivery returns the stored one
    (and queues it again if it is still pending).
    `payload_text`, the JSON text `payload` was parsed from, is stored as it came (not written
    out again).

    Returns `(delivery, created)`. `ping` needs no processing and is stored as processed.
    """
    action = payload.get("action") if isinstance(payload, dict) else None
    is_ping = event == "ping"
    delivery = WebhookDelivery(
        delivery_id=delivery_id,
        event=event,
        action=action if isinstance(action, str) else "",
        hook_id=hook_id,
        payload=payload if payload_text is None else CheckedJSON(payload_text, payload),
        outcome=Outcome.PROCESSED if is_ping else Outcome.PENDING,
        processed_at=timezone.now() if is_ping else None,
    )
    if not _insert(delivery):
        stored = WebhookDelivery.objects.only("delivery_id", "event", "outcome").get(
            delivery_id=delivery_id
        )
        if stored.outcome == Outcome.PENDING and stored.event != "ping":
            # Not processed yet: its wake-up may be what was lost (a first INSERT committed
            # but its answer lost; a broker restart), and processing is idempotent.
            _enqueue(delivery_id)
        return stored, False
    delivery.payload = payload  # as read back: the parsed value, not the stored text
    if not is_ping:
        _enqueue(delivery_id)  # at once when committed; after the caller's commit otherwise
    return delivery, True


def webhook_delivery_process(*, delivery_id: str) -> str:
    """Run the handlers of one pending delivery, exactly once, and record the outcome.

    The row lock makes a second worker with the same delivery wait, then find it done. Each
    handler runs in its own savepoint: one that raises rolls back its own rows only (another
    app's failure never undoes the ledger), and the delivery is marked failed, naming the
    handler and its error, so that a maintainer can fix the cause and reprocess it.
    """
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(delivery_id=delivery_id)
        if delivery.outcome != Outcome.PENDING:
            return delivery.outcome
        delivery.attempts += 1
        delivery.error = ""
        handlers = handlers_for(delivery.event)
        if not handlers:
            delivery.outcome = Outcome.IGNORED
            delivery.error = f"the {delivery.event!r} event is stored but not mapped"
        else:
            failed, ignored = [], []
            for handler in handlers:
                try:
                    with transaction.atomic():  # a savepoint: its rows alone roll back
                        handler(delivery.payload)
                except DeliveryIgnored as reason:
                    ignored.append(str(reason))
                except Exception as exc:
                    logger.exception(
                        "GitHub delivery %s (%s): %s failed",
                        delivery_id,
                        delivery.event,
                        handler_name(handler),
                    )
                    failed.append(f"{handler_name(handler)}: {type(exc).__name__}: {exc}")
            if failed:
                delivery.outcome = Outcome.FAILED
                delivery.error = "\n".join(failed)
            elif ignored:
                delivery.outcome = Outcome.IGNORED
                delivery.error = ignored[0]
            else:
                delivery.outcome = Outcome.PROCESSED
        delivery.processed_at = timezone.now()
        delivery.save(update_fields=["outcome", "error", "attempts", "processed_at"])
        return delivery.outcome


def webhook_deliveries_reprocess(*, delivery_ids: Iterable[str]) -> int:
    """Put deliveries back to pending and queue them again (after a handler fix, say).

    Safe for processed deliveries too: the ledger's keys make the second pass add nothing.
    """
    ids = list(delivery_ids)
    with transaction.atomic():
        count = (
            WebhookDelivery.objects.filter(delivery_id__in=ids)
            .exclude(event="ping")
            .update(outcome=Outcome.PENDING, error="", processed_at=None)
        )
        for delivery_id in WebhookDelivery.objects.filter(
            delivery_id__in=ids, outcome=Outcome.PENDING
        ).values_list("delivery_id", flat=True):
            _enqueue(delivery_id)
    return count


def webhook_deliveries_requeue_stale(*, older_than: timedelta | None = None) -> int:
    """Queue again deliveries still pending `GITHUB_REQUEUE_AFTER` after they arrived: their
    message was lost (a broker restart, a worker killed holding it, a web process killed
    between commit and publish). Processing is idempotent, so a delivery that was merely slow
    is not harmed."""
    if older_than is None:
        older_than = timedelta(seconds=settings.GITHUB_REQUEUE_AFTER)
    cutoff = timezone.now() - older_than
    ids = list(
        WebhookDelivery.objects.filter(outcome=Outcome.PENDING, received_at__lt=cutoff)
        .order_by("received_at")
        .values_list("delivery_id", flat=True)[:1000]
    )
    for start in range(0, len(ids), BATCH):
        process_github_deliveries.delay(ids[start : start + BATCH])
    return len(ids)
