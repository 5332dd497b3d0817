"""`POST /webhooks/github/`: what GitHub (or anyone else) gets back, and what is stored."""

import json
import os
from typing import Any
from urllib.parse import urlencode

import psycopg
import pytest
from django.db import connection, transaction
from django.test import Client, override_settings

from contrib.github.services import webhook_delivery_receive
from contrib.models import Contribution, WebhookDelivery
from tests.conftest import load_payload, signed_headers
from tests.factories import WebhookDeliveryFactory

pytestmark = pytest.mark.django_db
URL = "/webhooks/github/"


def post_raw(client: Client, body: bytes, headers: dict[str, str], **extra: str):  # type: ignore[no-untyped-def]
    return client.post(URL, data=body, content_type="application/json", headers=headers, **extra)


def test_missing_or_wrong_signature_is_401_and_stores_nothing(client: Client) -> None:
    body = json.dumps(load_payload("issues.opened")).encode()
    headers = signed_headers(body, event="issues")
    unsigned = {k: v for k, v in headers.items() if k != "X-Hub-Signature-256"}
    assert post_raw(client, body, unsigned).status_code == 401
    forged = {**headers, "X-Hub-Signature-256": "sha256=" + "0" * 64}
    response = post_raw(client, body, forged)
    assert response.status_code == 401
    assert "signature" in response.json()["error"]
    tampered = body.replace(b"Spelling", b"Spellinx")
    assert post_raw(client, tampered, headers).status_code == 401
    assert WebhookDelivery.objects.count() == 0


@override_settings(GITHUB_WEBHOOK_SECRET="")
def test_a_server_without_a_secret_accepts_nothing(client: Client) -> None:
    body = b"{}"
    response = post_raw(client, body, {"X-GitHub-Event": "ping", "X-GitHub-Delivery": "x"})
    assert response.status_code == 401
    assert "GITHUB_WEBHOOK_SECRET" in response.json()["error"]


@override_settings(GITHUB_WEBHOOK_MAX_BYTES=1000)
def test_body_over_the_limit_is_413(client: Client) -> None:
    body = json.dumps({"action": "opened", "pad": "x" * 2000}).encode()
    response = post_raw(client, body, signed_headers(body, event="issues"))
    assert response.status_code == 413
    assert WebhookDelivery.objects.count() == 0


def test_body_over_25_mb_is_413_without_being_read(client: Client) -> None:
    response = client.generic(
        "POST",
        URL,
        data=b"{}",
        content_type="application/json",
        headers={"Content-Length": str(26 * 1024 * 1024)},
    )
    assert response.status_code == 413


def test_malformed_json_is_400(client: Client) -> None:
    body = b'{"action": "opened", '
    response = post_raw(client, body, signed_headers(body, event="issues"))
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]
    body = b"[1, 2]"
    assert post_raw(client, body, signed_headers(body, event="issues")).status_code == 400
    assert WebhookDelivery.objects.count() == 0


def test_missing_event_or_delivery_header_is_400(client: Client) -> None:
    body = b"{}"
    headers = signed_headers(body, event="issues")
    del headers["X-GitHub-Delivery"]
    response = post_raw(client, body, headers)
    assert response.status_code == 400
    assert "X-GitHub-Delivery" in response.json()["error"]


def test_get_is_not_allowed(client: Client) -> None:
    assert client.get(URL).status_code == 405


def test_ping_answers_200_and_is_stored(client: Client) -> None:
    body = json.dumps(load_payload("ping.event")).encode()
    response = post_raw(client, body, signed_headers(body, event="ping", delivery_id="ping-1"))
    assert response.status_code == 200
    assert WebhookDelivery.objects.get(delivery_id="ping-1").outcome == "processed"


def test_a_delivery_is_accepted_with_202_and_processed_once(post_delivery) -> None:  # type: ignore[no-untyped-def]
    payload = load_payload("issues.opened")
    first = post_delivery("issues", payload, delivery_id="d-1")
    assert first.status_code == 202
    assert first.json() == {"status": "queued", "delivery": "d-1"}
    delivery = WebhookDelivery.objects.get(delivery_id="d-1")
    assert (delivery.outcome, delivery.attempts, delivery.action) == ("processed", 1, "opened")
    assert Contribution.objects.filter(kind="bug").count() == 1

    again = post_delivery("issues", payload, delivery_id="d-1")
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    delivery.refresh_from_db()
    assert delivery.attempts == 1
    assert WebhookDelivery.objects.count() == 1
    assert Contribution.objects.count() == 1


def test_form_encoded_deliveries_are_accepted(
    client: Client, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    body = urlencode({"payload": json.dumps(load_payload("issues.opened"))}).encode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            URL,
            data=body,
            content_type="application/x-www-form-urlencoded",
            headers=signed_headers(body, event="issues"),
        )
    assert response.status_code == 202
    assert Contribution.objects.filter(kind="bug").count() == 1


def test_unknown_event_is_stored_and_ignored_with_2xx(post_delivery) -> None:  # type: ignore[no-untyped-def]
    response = post_delivery("some_future_event", {"action": "happened", "x": 1}, delivery_id="u")
    assert response.status_code == 202
    delivery = WebhookDelivery.objects.get(delivery_id="u")
    assert delivery.outcome == "ignored"
    assert "not mapped" in delivery.error


def test_deliveries_whose_message_was_lost_are_queued_again(
    django_capture_on_commit_callbacks,
) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from django.utils import timezone

    from contrib.github.services import webhook_deliveries_requeue_stale

    # Stored, but the broker lost its message: nothing processed it.
    WebhookDeliveryFactory(
        delivery_id="lost", event="issues", action="opened", payload=load_payload("issues.opened")
    )
    WebhookDelivery.objects.filter(delivery_id="lost").update(
        received_at=timezone.now() - timedelta(hours=1)
    )
    WebhookDeliveryFactory(delivery_id="fresh", event="issues", payload={})
    with django_capture_on_commit_callbacks(execute=True):
        assert webhook_deliveries_requeue_stale() == 1
    assert WebhookDelivery.objects.get(delivery_id="lost").outcome == "processed"
    assert WebhookDelivery.objects.get(delivery_id="fresh").outcome == "pending"
    assert Contribution.objects.filter(kind="bug").count() == 1


def test_stored_deliveries_go_out_in_batches_and_a_process_sends_what_it_holds_at_exit(
    settings: Any,
) -> None:
    """The wake-up calls after the 202 (`contrib/github/dispatch.py`): ids a web process
    stored go out from its own thread, at most 50 a message; at exit it sends what it still
    holds. (The broker is replaced by a list here; the real path, gunicorn to Redis to a
    worker, is `test_worker_integration.py`.)"""
    from contrib.github import dispatch

    sent: list[list[str]] = []

    class Recording(dispatch._Dispatcher):
        def _start(self) -> None:  # no thread: this test drains the queue itself
            self._pid = os.getpid()

        def _publish(self, batch: list[str]) -> bool:
            sent.append(batch)
            return True

    settings.CELERY_TASK_ALWAYS_EAGER = False
    outbox = Recording()
    for n in range(120):
        outbox.send(f"d-{n}")
    outbox.flush()
    assert [len(batch) for batch in sent] == [50, 50, 20]
    assert [d for batch in sent for d in batch] == [f"d-{n}" for n in range(120)]


def test_while_the_broker_is_down_a_web_process_keeps_the_ids_and_tries_again(
    settings: Any,
) -> None:
    """The broker refuses the first two tries (a restart): the ids stay with the process and
    go out once it is back, none lost, none twice. (The broker's failure is simulated here;
    the real one, a Redis restart under load, is `make soak`.)"""
    import threading

    from contrib.github import dispatch

    sent: list[list[str]] = []
    tries, done = [0], threading.Event()

    class Flaky(dispatch._Dispatcher):
        def _publish(self, batch: list[str]) -> bool:
            tries[0] += 1
            if tries[0] <= 2:
                return False
            sent.append(batch)
            if sum(len(b) for b in sent) == 3:
                done.set()
            return True

    settings.CELERY_TASK_ALWAYS_EAGER = False
    outbox = Flaky()
    for n in range(3):
        outbox.send(f"d-{n}")
    assert done.wait(30)
    assert sorted(d for batch in sent for d in batch) == ["d-0", "d-1", "d-2"]
    assert tries[0] >= 3


def test_a_delivery_is_stored_as_it_came_and_nan_is_not_json(client: Client) -> None:
    """The payload is kept as the JSON text GitHub sent (not parsed and written out again);
    Python's NaN and Infinity, which JSON has not (and PostgreSQL refuses), are a 400."""
    body = b'{"action": "created",  "zen": "Keep it logically awesome.", "n": 1.50}'
    answer = client.post(
        "/webhooks/github/", data=body, content_type="application/json",
        headers=signed_headers(body, event="ping", delivery_id="as-it-came"),
    )  # fmt: skip
    assert answer.status_code == 200
    stored = WebhookDelivery.objects.get(delivery_id="as-it-came")
    assert stored.payload == {"action": "created", "zen": "Keep it logically awesome.", "n": 1.5}
    bad = b'{"action": "created", "n": NaN}'
    refused = client.post(
        "/webhooks/github/", data=bad, content_type="application/json",
        headers=signed_headers(bad, event="issues", delivery_id="nan"),
    )  # fmt: skip
    assert refused.status_code == 400 and "NaN is not JSON" in refused.json()["error"]
    assert not WebhookDelivery.objects.filter(delivery_id="nan").exists()
    with connection.cursor() as cursor:  # the column holds the body byte for byte
        cursor.execute(
            "SELECT payload FROM contrib_webhookdelivery WHERE delivery_id = %s", ["as-it-came"]
        )
        assert cursor.fetchone()[0] == body.decode()


def test_a_redelivery_inside_a_transaction_leaves_it_usable() -> None:
    """`ON CONFLICT DO NOTHING`: a duplicate raises nothing, so the caller's transaction goes on."""
    payload = load_payload("issues.opened")
    with transaction.atomic():
        first, created = webhook_delivery_receive(
            delivery_id="in-tx", event="issues", payload=payload
        )
        again, created_again = webhook_delivery_receive(
            delivery_id="in-tx", event="issues", payload=payload
        )
        assert (created, created_again) == (True, False) and again.pk == first.pk
        assert WebhookDelivery.objects.filter(delivery_id="in-tx").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_database_dropped_is_replaced_and_the_delivery_kept(
    client: Client,
) -> None:
    """The intake skips Django's per-request health check: a connection the server closed
    since its last use (a restart, an idle timeout) is found broken by the INSERT itself,
    replaced, and the INSERT sent again. Without that, GitHub got a 503 and the delivery was
    lost until someone redelivered it."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no server to drop a connection")
    assert not WebhookDelivery.objects.exists()  # this test's connection is open
    pid = connection.connection.info.backend_pid
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    body = json.dumps(load_payload("issues.opened")).encode()
    answer = post_raw(client, body, signed_headers(body, event="issues", delivery_id="dropped"))
    assert answer.status_code == 202
    assert WebhookDelivery.objects.filter(delivery_id="dropped").count() == 1
    assert connection.connection.info.backend_pid != pid


def test_nesting_counts_arrays_and_objects_alike(client: Client) -> None:
    for depth, status in ((63, 202), (65, 400)):  # the object itself is the first level
        body = ('{"a": ' + "[" * depth + "1" + "]" * depth + "}").encode()
        answer = post_raw(client, body, signed_headers(body, event="issues"))
        assert answer.status_code == status, depth


def test_a_redelivery_of_a_delivery_still_pending_wakes_its_processing(
    post_delivery: Any,
) -> None:
    """Stored but never processed (its wake-up lost: a broker restart, a first INSERT whose
    answer never reached GitHub): GitHub's redelivery is a duplicate, and processes it."""
    from tests.factories import RepositoryFactory, WebhookDeliveryFactory

    payload = load_payload("issues.opened")
    RepositoryFactory(
        github_id=payload["repository"]["id"],
        full_name=payload["repository"]["full_name"],
        tracked=True,
    )
    WebhookDeliveryFactory(delivery_id="woken", event="issues", action="opened", payload=payload)
    answer = post_delivery("issues", payload, delivery_id="woken")
    assert answer.status_code == 200 and answer.json()["status"] == "duplicate"
    assert WebhookDelivery.objects.get(delivery_id="woken").outcome == "processed"
    assert Contribution.objects.filter(kind="bug").count() == 1
