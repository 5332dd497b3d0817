"""GitHub Sponsors webhooks keep sponsorships current; private sponsors are never shown."""

import pytest
from rest_framework.test import APIClient

from contrib.models import Contribution, Sponsorship
from tests.conftest import load_payload

pytestmark = pytest.mark.django_db


def test_created_then_pending_tier_change_then_cancelled(post_delivery) -> None:  # type: ignore[no-untyped-def]
    post_delivery("sponsorship", load_payload("sponsorship.created"))
    record = Sponsorship.objects.get()
    assert (record.state, record.tier_name, record.monthly_price_in_cents) == (
        "active",
        "$5 a month",
        500,
    )
    row = Contribution.objects.get(kind="sponsorship")
    assert row.contributor == record.sponsor

    change = load_payload("sponsorship.pending_tier_change.2")
    change["sponsorship"]["privacy_level"] = "public"
    change["sponsorship"]["tier"].update(name="$10 a month", monthly_price_in_cents=1000)
    post_delivery("sponsorship", change)
    record.refresh_from_db()
    assert (record.tier_name, record.pending_tier_name) == ("$5 a month", "$10 a month")
    assert record.pending_effective_at.isoformat() == "2019-12-30T00:00:00+00:00"

    cancelled = load_payload("sponsorship.created")
    cancelled["action"] = "cancelled"
    post_delivery("sponsorship", cancelled)
    record.refresh_from_db()
    assert record.state == "cancelled" and record.cancelled_at is not None
    assert Contribution.objects.filter(kind="sponsorship").count() == 1


def test_private_sponsors_are_never_shown(post_delivery) -> None:  # type: ignore[no-untyped-def]
    private = load_payload("sponsorship.created")
    private["sponsorship"]["privacy_level"] = "private"
    post_delivery("sponsorship", private)
    assert Sponsorship.objects.get().privacy_level == "private"
    assert Contribution.objects.filter(kind="sponsorship").count() == 0
    assert APIClient().get("/api/sponsorships/").json()["count"] == 0

    public = load_payload("sponsorship.created")
    public["sponsorship"]["node_id"] = "another"
    post_delivery("sponsorship", public)
    listed = APIClient().get("/api/sponsorships/").json()
    assert listed["count"] == 1 and listed["results"][0]["tier_name"] == "$5 a month"


def test_a_private_sponsor_appears_nowhere_public_until_they_contribute(  # type: ignore[no-untyped-def]
    post_delivery, client
) -> None:
    from contrib.ledger import contribution_record
    from contrib.models import ContributionKind, ContributionSource

    private = load_payload("sponsorship.created")
    private["sponsorship"]["privacy_level"] = "private"
    post_delivery("sponsorship", private)
    login = Sponsorship.objects.get().sponsor.login
    api = APIClient()
    for path in (
        f"/c/{login}/",
        f"/api/contributors/{login}/",
        f"/api/contributors/{login}/profile/",
    ):
        assert client.get(path).status_code == 404, path
    assert api.get("/api/contributors/", {"search": login}).json()["count"] == 0
    for path in (
        "/",
        "/honors/",
        "/sponsors/",
        "/issues/",
        "/docs/",
        "/api/contributors/",
        "/api/sponsorships/",
        "/api/honor-rolls/",
        "/api/contributions/",
        "/api/awards/",
        "/api/health/",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert login.lower() not in response.content.decode().lower(), path

    # A contribution of their own makes them a public contributor in their own right.
    contribution_record(
        contributor=Sponsorship.objects.get().sponsor,
        kind=ContributionKind.CODE,
        occurred_at=Sponsorship.objects.get().started_at,
        source=ContributionSource.MANUAL,
        external_id="own-work",
    )
    assert client.get(f"/c/{login}/").status_code == 200
    assert api.get("/api/contributors/", {"search": login}).json()["count"] == 1
