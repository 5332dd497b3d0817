"""CHAOSS figures on a hand-built ledger; every expected number is worked out by hand below."""

from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from tests.factories import (
    ContributionFactory,
    ContributorFactory,
    IssueFactory,
    PullRequestFactory,
    RepositoryFactory,
)

pytestmark = pytest.mark.django_db


def at(day: int, month: int = 10, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


@pytest.fixture
def ledger() -> None:
    ann, ben, cat, dan = (ContributorFactory(login=n) for n in ("ann", "ben", "cat", "dan"))
    bot = ContributorFactory(login="ci[bot]", is_bot=True)
    # September: ann and dan active.
    ContributionFactory(contributor=ann, occurred_at=at(10, 9))
    ContributionFactory(contributor=dan, occurred_at=at(11, 9))
    # October: ann 6, ben 3 (new), cat 1 (new); dan silent (inactive); the bot's 50 don't count.
    for day in range(1, 7):
        ContributionFactory(contributor=ann, occurred_at=at(day))
    for day in range(1, 4):
        ContributionFactory(contributor=ben, occurred_at=at(day))
    ContributionFactory(contributor=cat, occurred_at=at(20))
    for n in range(50):
        ContributionFactory(contributor=bot, occurred_at=at(5) + timedelta(minutes=n))
    repo = RepositoryFactory()
    # First responses after 1 h, 2 h, 3 h, 10 h (issues and PRs opened in October), one none.
    for number, hours in enumerate([1, 2, 3], start=1):
        IssueFactory(
            repository=repo,
            number=number,
            created_at=at(2),
            first_response_at=at(2) + timedelta(hours=hours),
        )
    IssueFactory(repository=repo, number=9, created_at=at(3))
    # PRs closed in October: 2 merged, 1 not; one merged in November does not count.
    for number, merged in [(4, True), (5, True), (6, False)]:
        PullRequestFactory(
            repository=repo,
            number=number,
            created_at=at(4),
            closed_at=at(8),
            merged_at=at(8) if merged else None,
            first_response_at=at(4) + timedelta(hours=10) if number == 4 else None,
        )
    PullRequestFactory(
        repository=repo, number=7, created_at=at(4), closed_at=at(2, 11), merged_at=at(2, 11)
    )


@pytest.mark.usefixtures("ledger")
def test_chaoss_figures_for_october() -> None:
    body = APIClient().get("/api/health/?period=month&at=2026-10").json()
    assert body["label"] == "October 2026"
    assert body["active_contributors"] == 3  # ann, ben, cat
    assert body["new_contributors"] == 2  # ben, cat
    assert body["inactive_contributors"] == 1  # dan
    assert body["contributions"] == 10  # 6 + 3 + 1, bots excluded
    # ann alone made 6 of 10 ≥ 50%.
    assert body["contributor_absence_factor"] == 1
    # Responses 1 h, 2 h, 3 h, 10 h: nearest-rank median is the 2nd (2 h), p90 the 4th (10 h).
    assert body["first_response_count"] == 4
    assert body["first_response_median_seconds"] == 2 * 3600
    assert body["first_response_p90_seconds"] == 10 * 3600
    assert (body["change_requests_closed"], body["change_requests_merged"]) == (3, 2)
    assert body["change_request_acceptance_ratio"] == pytest.approx(2 / 3)


def test_an_empty_period_has_no_ratios_and_bad_input_is_400() -> None:
    body = APIClient().get("/api/health/?period=week&at=2020-01-01").json()
    assert body["contributions"] == 0 and body["change_request_acceptance_ratio"] is None
    assert body["first_response_median_seconds"] is None
    assert APIClient().get("/api/health/?period=all").status_code == 400
