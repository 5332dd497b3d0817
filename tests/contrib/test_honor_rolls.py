"""Honour rolls: periods, categories, bots left out, frozen history, explicit recomputation."""

from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from rest_framework.test import APIClient

from contrib.honor_rolls import (
    honor_roll_compute,
    honor_roll_freeze,
    parse_at,
    period_window,
)
from contrib.models import HonorRoll, ScoringRule
from tests.factories import ContributionFactory, ContributorFactory

pytestmark = pytest.mark.django_db
OCT = datetime(2026, 10, 15, 12, tzinfo=UTC)


def at(day: int, month: int = 10) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=UTC)


@pytest.fixture
def october() -> None:
    alice, bob = ContributorFactory(login="alice"), ContributorFactory(login="bob")
    bot = ContributorFactory(login="deps[bot]", is_bot=True)
    ContributionFactory(contributor=alice, kind="code", occurred_at=at(3))  # 5
    ContributionFactory(contributor=alice, kind="doc", occurred_at=at(4))  # 4
    for day in (5, 6, 7, 8):
        ContributionFactory(contributor=bob, kind="review", occurred_at=at(day))  # 4 x 3
    for day in range(1, 20):
        ContributionFactory(contributor=bot, kind="code", occurred_at=at(day))
    ContributionFactory(contributor=alice, kind="code", occurred_at=at(2, month=11))  # November


def test_period_windows() -> None:
    week = period_window(period="week", at=datetime(2026, 10, 15, tzinfo=UTC))  # a Thursday
    assert (week.starts_at.day, week.ends_at.day, week.starts_at.weekday()) == (12, 19, 0)
    quarter = period_window(period="quarter", at=OCT)
    assert (quarter.starts_at.month, quarter.ends_at.year, quarter.label) == (10, 2027, "Q4 2026")
    assert period_window(period="month", at=OCT).label == "October 2026"
    assert period_window(period="year", at=OCT).ends_at == datetime(2027, 1, 1, tzinfo=UTC)
    assert parse_at("2026-10") == datetime(2026, 10, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="unknown period"):
        period_window(period="fortnight")


@pytest.mark.usefixtures("october")
def test_rolls_rank_people_by_score_in_the_window_per_category_without_bots() -> None:
    window = period_window(period="month", at=OCT)
    overall = honor_roll_compute(window=window, category="overall")
    assert [(r.contributor.login, r.score) for r in overall] == [
        ("bob", Decimal("12")),
        ("alice", Decimal("9")),
    ]
    assert overall[1].breakdown == {"code": 1, "doc": 1}
    reviews = honor_roll_compute(window=window, category="reviews")
    assert [(r.rank, r.contributor.login) for r in reviews] == [(1, "bob")]
    docs = honor_roll_compute(window=window, category="docs")
    assert [(r.contributor.login, r.score, r.breakdown) for r in docs] == [
        ("alice", Decimal("4"), {"doc": 1})
    ]


@pytest.mark.usefixtures("october")
def test_a_frozen_roll_does_not_change_with_the_rules_unless_recomputed() -> None:
    window = period_window(period="month", at=OCT)
    roll = honor_roll_freeze(window=window, category="overall")
    frozen = list(roll.entries.values_list("contributor__login", "score"))
    assert frozen == [("bob", Decimal("12")), ("alice", Decimal("9"))]
    assert roll.rules["review"] == "3.000"

    ScoringRule.objects.filter(kind="review").update(points=Decimal("1"))
    again = honor_roll_freeze(window=window, category="overall")
    assert again.pk == roll.pk
    assert list(again.entries.values_list("contributor__login", "score")) == frozen
    live = honor_roll_compute(window=window, category="overall")
    assert [r.contributor.login for r in live] == ["alice", "bob"]

    maintainer = User.objects.create_superuser("maint", password="pw-123456789")
    recomputed = honor_roll_freeze(
        window=window, category="overall", recompute=True, user=maintainer
    )
    assert list(recomputed.entries.values_list("contributor__login", "score")) == [
        ("alice", Decimal("9")),
        ("bob", Decimal("4")),
    ]
    assert (recomputed.recompute_count, recomputed.recomputed_by) == (1, maintainer)
    assert recomputed.recomputed_at is not None


def test_the_current_period_is_never_frozen() -> None:
    with pytest.raises(ValueError, match="still live"):
        honor_roll_freeze(window=period_window(period="month"), category="overall")


@pytest.mark.usefixtures("october")
def test_api_serves_frozen_past_rolls_and_live_current_ones() -> None:
    api = APIClient()
    past = api.get("/api/honor-rolls/?period=month&at=2026-10&category=overall")
    assert past.status_code == 200
    body = past.json()
    assert body["frozen"] and body["label"] == "October 2026"
    assert [e["contributor"]["login"] for e in body["entries"]] == ["bob", "alice"]
    assert HonorRoll.objects.count() == 1
    live = api.get("/api/honor-rolls/?period=all").json()
    assert not live["frozen"] and live["ends_at"] is None
    bad = api.get("/api/honor-rolls/?period=fortnight&category=x&at=soon")
    assert bad.status_code == 400 and set(bad.json()) == {"period", "category", "at"}


@pytest.mark.usefixtures("october")
def test_command_freezes_every_category_and_records_recomputation() -> None:
    out = StringIO()
    call_command("honor_rolls", "--period", "month", "--at", "2026-10", stdout=out)
    assert "[6/6] October 2026, evaluation" in out.getvalue()
    assert HonorRoll.objects.filter(period="month").count() == 6
    call_command("honor_rolls", "--period", "month", "--at", "2026-10", "--recompute", stdout=out)
    assert set(HonorRoll.objects.values_list("recompute_count", flat=True)) == {1}


def test_viewing_a_period_without_contributions_freezes_nothing() -> None:
    body = APIClient().get("/api/honor-rolls/?period=month&at=2011-03").json()
    assert body["entries"] == [] and not body["frozen"]
    assert HonorRoll.objects.count() == 0
