"""The whole intake path with real processes: gunicorn takes signed deliveries over HTTP, a
Celery worker process consumes them from a real Redis and writes the ledger."""

import json
import time
import urllib.error
import urllib.request
import uuid

import pytest

from contrib.models import Contribution, PullRequest, WebhookDelivery
from tests.conftest import database_url_for_subprocesses, load_payload, signed_headers
from tests.support.processes import celery_worker, gunicorn, platform_env

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

EVENTS = [
    "pull_request.opened",
    "pull_request_review.submitted",
    "issues.opened",
    "issue_comment.created",
    "push.event.5",
    "release.published",
    "star.created",
]


def deliver(base_url: str, name: str, delivery_id: str) -> int:
    body = json.dumps(load_payload(name)).encode()
    request = urllib.request.Request(
        f"{base_url}/webhooks/github/",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            **signed_headers(body, event=name.split(".")[0], delivery_id=delivery_id),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def wait_until_none_pending(timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while WebhookDelivery.objects.filter(outcome="pending").exists():
        assert time.monotonic() < deadline, "deliveries still pending: worker did not process"
        time.sleep(0.2)


def test_deliveries_survive_a_worker_outage_and_are_processed_once(redis_url: str) -> None:
    env = platform_env(
        DATABASE_URL=database_url_for_subprocesses(),
        CELERY_BROKER_URL=redis_url,
        CELERY_TASK_ALWAYS_EAGER="false",
        GITHUB_WEBHOOK_SECRET="test-webhook-secret",
    )
    ids = {name: str(uuid.uuid4()) for name in EVENTS}
    with gunicorn(env) as base_url:
        # No worker yet: GitHub still gets its 202 at once and nothing is lost.
        assert {deliver(base_url, name, ids[name]) for name in EVENTS} == {202}
        assert WebhookDelivery.objects.filter(outcome="pending").count() == len(EVENTS)

        with celery_worker(env):
            wait_until_none_pending()
            # A redelivery (same id) and a replay (new id) while the worker runs.
            assert {deliver(base_url, name, ids[name]) for name in EVENTS} == {200}
            assert {deliver(base_url, name, f"replay-{ids[name]}") for name in EVENTS} == {202}
            wait_until_none_pending()

    outcomes = dict(
        WebhookDelivery.objects.filter(delivery_id__in=ids.values()).values_list("event", "outcome")
    )
    assert outcomes["star"] == "ignored"
    assert set(outcomes.values()) <= {"processed", "ignored"}
    assert WebhookDelivery.objects.filter(attempts__gt=1).count() == 0
    assert sorted(Contribution.objects.values_list("kind", flat=True)) == [
        "bug",
        "discussion",
        "doc",
        "maintenance",
        "review",
    ]
    assert PullRequest.objects.count() == 1
