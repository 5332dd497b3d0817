"""Maintainers see unusual patterns (many small doc edits, reverts, edits of others' pages,
bursts) on one admin page, and edits of other people's pages are limited per hour."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from contrib.docs import OTHERS_PAGES_PER_HOUR, DocError, doc_revision_create
from contrib.patterns import unusual_patterns
from tests.factories import ContributionFactory, ContributorFactory

pytestmark = pytest.mark.django_db
BODY = "How to run the demo: make run, then open the dashboard at port 8000.\n"


def test_small_edits_and_reverts_are_listed_for_a_maintainer(admin_client: Client) -> None:
    farmer = User.objects.create_user("farmer", password="pw-123456789")
    doc_revision_create(user=farmer, title="Farm", body=BODY)
    for n in range(6):  # one character changed each time, then back
        doc_revision_create(user=farmer, title="Farm", body=BODY + ("!" if n % 2 == 0 else ""))
    honest = User.objects.create_user("honest", password="pw-123456789")
    doc_revision_create(user=honest, title="Guide", body=BODY)

    found = {(p.who, p.sort): p for p in unusual_patterns()}
    assert found[("farmer", "small doc edits")].count == 6
    assert found[("farmer", "doc reverts")].count >= 2
    assert not any(who == "honest" for who, _sort in found)

    page = admin_client.get("/admin/contrib/contribution/patterns/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "farmer" in text and "small doc edits" in text and "honest" not in text
    listing = admin_client.get("/admin/contrib/contribution/")
    assert "/admin/contrib/contribution/patterns/" in listing.content.decode()


def test_a_burst_of_ledger_rows_in_one_hour_is_listed() -> None:
    hour = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    burster = ContributorFactory(login="burster")
    for n in range(25):
        ContributionFactory(contributor=burster, occurred_at=hour + timedelta(minutes=2 * n))
    steady = ContributorFactory(login="steady")
    for n in range(25):
        ContributionFactory(contributor=steady, occurred_at=hour - timedelta(hours=3 * n))
    bursts = [p for p in unusual_patterns() if p.sort == "burst"]
    assert [p.who for p in bursts] == ["burster"]
    assert bursts[0].count == 25


def test_the_patterns_page_is_for_staff_only(client: Client) -> None:
    User.objects.create_user("viewer", password="pw-123456789")
    client.login(username="viewer", password="pw-123456789")
    response = client.get("/admin/contrib/contribution/patterns/")
    assert response.status_code == 302  # to the admin's sign-in
    assert "/admin/login/" in response["Location"]


def test_edits_of_other_peoples_pages_are_limited_per_hour_but_not_for_maintainers() -> None:
    owner = User.objects.create_user("owner", password="pw-123456789")
    visitor = User.objects.create_user("visitor", password="pw-123456789")
    doc_revision_create(user=owner, title="Owned", body=BODY)
    for n in range(OTHERS_PAGES_PER_HOUR):
        doc_revision_create(user=visitor, title="Owned", body=BODY + f"Edit {n}.\n")
    with pytest.raises(DocError, match="other people's pages in the last hour"):
        doc_revision_create(user=visitor, title="Owned", body=BODY + "One more.\n")
    # Their own pages are not limited, and neither is a maintainer.
    doc_revision_create(user=visitor, title="Mine", body=BODY)
    doc_revision_create(user=visitor, title="Mine", body=BODY + "More.\n")
    staff = User.objects.create_user("staffer", password="pw-123456789", is_staff=True)
    for n in range(OTHERS_PAGES_PER_HOUR + 1):
        doc_revision_create(user=staff, title="Owned", body=BODY + f"Staff edit {n}.\n")
