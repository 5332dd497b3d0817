"""Bounties: every allowed and refused move, who may make it, the audit trail, the payout CSV."""

import csv
import io

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from contrib.bounties import BountyError, bounty_create, bounty_transition
from contrib.models import Bounty, Contribution
from tests.factories import ContributorFactory, IssueFactory, RepositoryFactory

pytestmark = pytest.mark.django_db
State = Bounty.State


@pytest.fixture
def people() -> dict[str, User]:
    maint = User.objects.create_superuser("maint", password="pw-123456789")
    ann = User.objects.create_user("ann", password="pw-123456789")
    ben = User.objects.create_user("ben", password="pw-123456789")
    ContributorFactory(login="ann", user=ann)
    ContributorFactory(login="ben", user=ben)
    return {"maint": maint, "ann": ann, "ben": ben}


@pytest.fixture
def bounty(people: dict[str, User]) -> Bounty:
    issue = IssueFactory(
        repository=RepositoryFactory(full_name="org/model"),
        number=7,
        html_url="https://github.com/org/model/issues/7",
    )
    return bounty_create(
        issue=issue,
        title="Fix the loss spike",
        amount_minor=25_000,
        currency="usd",
        funder="Acme Sponsors",
        user=people["maint"],
    )


def test_the_state_machine_refuses_every_move_it_does_not_list(
    bounty: Bounty, people: dict[str, User]
) -> None:
    for start, allowed in Bounty.ALLOWED_TRANSITIONS.items():
        for target in State.values:
            if target in allowed:
                continue
            Bounty.objects.filter(pk=bounty.pk).update(state=start)
            with pytest.raises(BountyError, match=f"a {start} bounty cannot become {target}"):
                bounty_transition(bounty=bounty, to=target, user=people["maint"])


def test_happy_path_with_roles_audit_trail_and_ledger_row(
    bounty: Bounty, people: dict[str, User]
) -> None:
    assert bounty.currency == "USD"
    with pytest.raises(BountyError, match="only maintainers"):
        bounty_create(
            issue=bounty.issue,
            title="x",
            amount_minor=1,
            currency="EUR",
            funder="f",
            user=people["ann"],
        )
    bounty_transition(bounty=bounty, to=State.CLAIMED, user=people["ann"])
    with pytest.raises(BountyError, match="only the person who claimed"):
        bounty_transition(bounty=bounty, to=State.SUBMITTED, user=people["ben"])
    bounty_transition(bounty=bounty, to=State.SUBMITTED, user=people["ann"], note="PR #12")
    with pytest.raises(BountyError, match="only maintainers"):
        bounty_transition(bounty=bounty, to=State.AWARDED, user=people["ann"])
    bounty_transition(bounty=bounty, to=State.AWARDED, user=people["maint"])
    bounty_transition(bounty=bounty, to=State.PAID, user=people["maint"])

    bounty.refresh_from_db()
    assert bounty.state == "paid" and bounty.awarded_to.login == "ann"
    trail = list(bounty.events.values_list("from_state", "to_state", "actor__username", "note"))
    assert trail == [
        ("", "open", "maint", "created"),
        ("open", "claimed", "ann", ""),
        ("claimed", "submitted", "ann", "PR #12"),
        ("submitted", "awarded", "maint", ""),
        ("awarded", "paid", "maint", ""),
    ]
    row = Contribution.objects.get(external_id=f"bounty:{bounty.pk}")
    assert (row.contributor.login, row.kind, row.source) == ("ann", "code", "platform")


def test_bad_currency_and_amount_are_refused(people: dict[str, User]) -> None:
    issue = IssueFactory(repository=RepositoryFactory(), number=1)
    with pytest.raises(BountyError, match="ISO 4217"):
        bounty_create(
            issue=issue,
            title="t",
            amount_minor=5,
            currency="dollars",
            funder="f",
            user=people["maint"],
        )
    with pytest.raises(BountyError, match="positive"):
        bounty_create(
            issue=issue, title="t", amount_minor=0, currency="EUR", funder="f", user=people["maint"]
        )


def test_api_roles_and_payout_csv(bounty: Bounty, people: dict[str, User]) -> None:
    api = APIClient()
    assert api.get("/api/bounties/").json()["count"] == 1
    assert api.post(f"/api/bounties/{bounty.pk}/claim/").status_code in (401, 403)
    api.force_authenticate(people["ann"])
    assert api.post(f"/api/bounties/{bounty.pk}/claim/").json()["state"] == "claimed"
    again = api.post(f"/api/bounties/{bounty.pk}/claim/")
    assert again.status_code == 400 and "cannot become claimed" in str(again.json())
    assert api.get("/api/bounties/payouts/?month=2026-11").status_code == 403
    api.post(f"/api/bounties/{bounty.pk}/submit/")
    assert api.post(f"/api/bounties/{bounty.pk}/award/").status_code == 403

    api.force_authenticate(people["maint"])
    awarded = api.post(f"/api/bounties/{bounty.pk}/award/", {"winner": "ann"}, format="json")
    assert awarded.json()["awarded_to"]["login"] == "ann"
    month = Bounty.objects.get(pk=bounty.pk).awarded_at.strftime("%Y-%m")
    export = api.get(f"/api/bounties/payouts/?month={month}")
    assert export["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(export.content.decode())))
    assert [(r["recipient_login"], r["amount"], r["currency"], r["issue"]) for r in rows] == [
        ("ann", "250.00", "USD", "org/model#7")
    ]
    assert api.get("/api/bounties/payouts/?month=soon").status_code == 400
