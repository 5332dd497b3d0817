"""The ledger counts each contribution once; scores derive from it and the scoring rules."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from contrib.contributors import contributor_resolve_commit_author, contributors_merge
from contrib.ledger import contribution_record
from contrib.models import Contribution, Contributor, ContributorMerge, Identity, ScoringRule
from contrib.scores import contributors_with_scores
from tests.factories import ContributionFactory, ContributorFactory, IdentityFactory

pytestmark = pytest.mark.django_db


def test_recording_twice_returns_the_first_row() -> None:
    person = ContributorFactory()
    now = timezone.now()
    first, created = contribution_record(
        contributor=person, kind="code", occurred_at=now, source="github", external_id="pr-merged:1"
    )
    again, created_again = contribution_record(
        contributor=person, kind="code", occurred_at=now, source="github", external_id="pr-merged:1"
    )
    assert created and not created_again and first.pk == again.pk


def test_webhook_and_backfill_share_keys_but_manual_rows_do_not() -> None:
    person = ContributorFactory()
    now = timezone.now()
    contribution_record(
        contributor=person, kind="code", occurred_at=now, source="github", external_id="pr-merged:7"
    )
    _row, created = contribution_record(
        contributor=person, kind="code", occurred_at=now, source="sync", external_id="pr-merged:7"
    )
    assert not created
    _row, created = contribution_record(
        contributor=person,
        kind="ideas",
        occurred_at=now,
        source="manual",
        external_id="pr-merged:7",
    )
    assert created
    assert Contribution.objects.count() == 2


def test_default_rules_weight_a_merged_pr_above_a_comment() -> None:
    points = dict(ScoringRule.objects.values_list("kind", "points"))
    assert points["code"] > points["review"] > points["discussion"]
    assert len(points) == 14


def test_scores_are_ledger_times_rules_and_follow_rule_changes() -> None:
    alice, bob, bot = (
        ContributorFactory(login="alice"),
        ContributorFactory(login="bob"),
        ContributorFactory(login="ci[bot]", is_bot=True),
    )
    ContributionFactory(contributor=alice, kind="code")
    ContributionFactory(contributor=alice, kind="discussion")
    for _ in range(3):
        ContributionFactory(contributor=bob, kind="review")
    ContributionFactory(contributor=bot, kind="code")
    old = ContributionFactory(
        contributor=bob, kind="code", occurred_at=timezone.now() - timedelta(days=400)
    )

    scores = {c.login: c for c in contributors_with_scores()}
    assert scores["alice"].score == Decimal("5.5")
    assert scores["bob"].score == Decimal("14")  # 3 reviews × 3 + an old merged PR × 5
    assert scores["bob"].count_review == 3 and scores["alice"].count_code == 1
    assert "ci[bot]" not in {c.login for c in contributors_with_scores(include_bots=False)}

    recent = {
        c.login: c.score
        for c in contributors_with_scores(since=timezone.now() - timedelta(days=30))
    }
    assert recent["bob"] == Decimal("9")
    assert old.pk  # the old row still counts in all-time scores

    ScoringRule.objects.filter(kind="review").update(points=Decimal("1"))
    rescored = {c.login: c.score for c in contributors_with_scores()}
    assert rescored["bob"] == Decimal("8")


def test_one_person_with_several_commit_emails_counts_once() -> None:
    a = contributor_resolve_commit_author(name="Mona", email="mona@work.example", username="mona")
    b = contributor_resolve_commit_author(name="Mona", email="MONA@work.example")
    # GitHub names the account a noreply address belongs to (an address alone proves nothing:
    # test_identity.py, forged addresses).
    c = contributor_resolve_commit_author(
        email="12345+mona@users.noreply.github.com", username="mona"
    )
    d = contributor_resolve_commit_author(email="12345+mona@users.noreply.github.com")
    assert a.pk == b.pk == c.pk == d.pk
    assert Contributor.objects.get(pk=a.pk).github_id == 12345
    assert Identity.objects.filter(contributor=a, email="mona@work.example").exists()


def test_merging_contributors_moves_everything_and_keeps_later_events_on_the_target() -> None:
    real = ContributorFactory(login="mona", github_id=12345)
    by_email = ContributorFactory(login="", github_id=None, name="Mona L")
    IdentityFactory(contributor=by_email, source="git", email="mona@home.example")
    ContributionFactory(contributor=by_email, kind="code")
    ContributionFactory(contributor=real, kind="review")

    merge = contributors_merge(source=by_email, target=real)
    assert merge.moved["contributions"] == 1
    assert real.contributions.count() == 2
    by_email.refresh_from_db()
    assert by_email.merged_into_id == real.pk
    later = contributor_resolve_commit_author(email="mona@home.example")
    assert later.pk == real.pk
    contribution_record(
        contributor=by_email,
        kind="doc",
        occurred_at=timezone.now(),
        source="manual",
        external_id="later",
    )
    assert real.contributions.count() == 3
    assert ContributorMerge.objects.count() == 1
    assert by_email.pk not in {c.pk for c in contributors_with_scores()}
    with pytest.raises(ValueError, match="already the same"):
        contributors_merge(source=by_email, target=real)
