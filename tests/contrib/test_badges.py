"""Badges: each rule, once per contributor (and period), bots excluded, kept through a merge."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from contrib.badges import award_grant, badges_ensure, badges_evaluate
from contrib.contributors import contributors_merge
from contrib.honor_rolls import honor_roll_freeze, period_window
from contrib.models import Award
from tests.factories import ContributionFactory, ContributorFactory, IssueFactory

pytestmark = pytest.mark.django_db


def at(day: int, month: int = 10) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=UTC)


def held(login: str) -> set[tuple[str, str]]:
    return set(
        Award.objects.filter(contributor__login=login).values_list("badge__slug", "period_key")
    )


def test_first_contribution_and_milestone_badges_once_each() -> None:
    ann, ben = ContributorFactory(login="ann"), ContributorFactory(login="ben")
    bot = ContributorFactory(login="deps[bot]", is_bot=True)
    for day in range(1, 11):
        ContributionFactory(contributor=ann, kind="code", occurred_at=at(day))
    ContributionFactory(contributor=ann, kind="review", occurred_at=at(12))
    ContributionFactory(contributor=ben, kind="doc", occurred_at=at(3))
    for _ in range(12):
        ContributionFactory(contributor=bot, kind="code")

    new = badges_evaluate()
    assert held("ann") == {("first-code", ""), ("first-review", ""), ("contributions-10", "")}
    assert held("ben") == {("first-doc", "")}
    assert held("deps[bot]") == set()
    assert new == 4
    assert Award.objects.get(contributor=ann, badge__slug="first-code").citation == "on 2026-10-01"
    assert badges_evaluate() == 0  # evaluating again changes nothing


def test_monthly_badges_come_from_frozen_rolls_once_per_month() -> None:
    ann, ben, cat = (ContributorFactory(login=n) for n in ("ann", "ben", "cat"))
    for month in (9, 10):
        ContributionFactory(contributor=ann, kind="review", occurred_at=at(2, month))
        ContributionFactory(contributor=ann, kind="review", occurred_at=at(3, month))
        ContributionFactory(contributor=ben, kind="review", occurred_at=at(4, month))
        ContributionFactory(contributor=cat, kind="doc", occurred_at=at(5, month))
        window = period_window(period="month", at=at(1, month))
        for category in ("reviews", "docs", "overall"):
            honor_roll_freeze(window=window, category=category)
    badges_evaluate()
    assert ("reviewer-of-the-month", "2026-09") in held("ann")
    assert ("reviewer-of-the-month", "2026-10") in held("ann")
    assert ("docs-champion-of-the-month", "2026-10") in held("cat")
    assert {("top-three", "2026-09"), ("top-three", "2026-10")} <= held("ben")
    assert ("reviewer-of-the-month", "2026-10") not in held("ben")


def test_manual_awards_need_a_citation_and_are_given_once() -> None:
    badges = badges_ensure()
    ann = ContributorFactory(login="ann")
    with pytest.raises(ValueError, match="citation"):
        award_grant(badge=badges["community-hero"], contributor=ann, citation=" ")
    first, created = award_grant(
        badge=badges["community-hero"], contributor=ann, citation="Ran the 2026 sprint"
    )
    again, created_again = award_grant(
        badge=badges["community-hero"], contributor=ann, citation="Twice?"
    )
    assert created and not created_again and first.pk == again.pk


def test_a_merged_identity_keeps_its_awards_without_duplicates() -> None:
    real, old = ContributorFactory(login="mona"), ContributorFactory(login="mona-old")
    ContributionFactory(contributor=real, kind="code")
    ContributionFactory(contributor=old, kind="code")
    ContributionFactory(contributor=old, kind="doc")
    badges_evaluate()
    contributors_merge(source=old, target=real)
    assert held("mona") == {("first-code", ""), ("first-doc", "")}
    assert Award.objects.filter(contributor=old).count() == 0
    assert badges_evaluate() == 0


def test_awards_api_and_admin_manual_award(client: Client) -> None:
    ann = ContributorFactory(login="ann")
    ContributionFactory(contributor=ann, kind="doc")
    badges_evaluate()
    body = APIClient().get("/api/awards/?contributor=ANN").json()
    assert [a["badge"]["slug"] for a in body["results"]] == ["first-doc"]
    assert APIClient().get("/api/badges/").json()["count"] >= 10

    admin = User.objects.create_superuser("boss", password="pw-123456789")
    client.force_login(admin)
    hero = badges_ensure()["community-hero"]
    response = client.post(
        "/admin/contrib/award/add/",
        {
            "badge": hero.pk,
            "contributor": ann.pk,
            "period_key": "",
            "citation": "Mentored 5 people",
        },
    )
    assert response.status_code == 302
    award = Award.objects.get(badge=hero)
    assert (award.awarded_by, award.citation) == (admin, "Mentored 5 people")


def test_first_responder_badge_goes_to_whoever_answered_first() -> None:
    from contrib.mirrors import item_record_response
    from tests.factories import RepositoryFactory

    author, quick, slow = (ContributorFactory(login=n) for n in ("author", "quick", "slow"))
    issue = IssueFactory(repository=RepositoryFactory(), number=1, author=author, created_at=at(1))
    item_record_response(item=issue, responder=slow, responded_at=at(3))
    item_record_response(item=issue, responder=quick, responded_at=at(2))
    item_record_response(item=issue, responder=author, responded_at=at(1))
    badges_evaluate()
    assert ("first-responder", "") in held("quick")
    assert ("first-responder", "") not in held("slow") | held("author")
