"""Every example payload GitHub documents is accepted, and redelivering any adds nothing."""

import pytest

from contrib.models import Contribution, Issue, PullRequest, WebhookDelivery
from tests.conftest import all_payload_names, event_of, load_payload

pytestmark = pytest.mark.django_db


def test_every_github_example_is_accepted_processed_and_idempotent(post_delivery) -> None:  # type: ignore[no-untyped-def]
    names = all_payload_names()
    assert len(names) > 300
    for name in names:
        response = post_delivery(event_of(name), load_payload(name), delivery_id=f"first-{name}")
        assert response.status_code in (200, 202), (name, response.content)
    failed = list(
        WebhookDelivery.objects.filter(outcome="failed").values_list("delivery_id", "error")
    )
    assert failed == []
    counts = (Contribution.objects.count(), Issue.objects.count(), PullRequest.objects.count())
    # GitHub's examples reuse a few ids, so a dozen distinct facts come out of 300 payloads.
    kinds = set(Contribution.objects.values_list("kind", flat=True))
    assert {"bug", "discussion", "doc", "maintenance", "review"} <= kinds

    # GitHub's "Redeliver" keeps the delivery id; a replay from elsewhere gets a new one.
    for name in names:
        post_delivery(event_of(name), load_payload(name), delivery_id=f"first-{name}")
        post_delivery(event_of(name), load_payload(name), delivery_id=f"replay-{name}")
    assert (
        Contribution.objects.count(),
        Issue.objects.count(),
        PullRequest.objects.count(),
    ) == counts
    assert WebhookDelivery.objects.filter(outcome="failed").count() == 0
    assert WebhookDelivery.objects.count() == 2 * len(names)
