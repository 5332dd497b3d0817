"""The server-rendered pages: they render, show what matters, and stay within a fixed number of
queries on a community of meaningful size."""

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contrib.honor_rolls import period_window
from contrib.models import Contribution, ContributionKind, ContributionSource, Contributor
from evaluation.models import Submission
from tests.web.conftest import Community, build_community
from ui.charts import area_fill, legend, stacked_bars

pytestmark = pytest.mark.django_db


def get(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        get(client, url)
    return len(queries)


def test_dashboard(client: Client, community: Community, django_assert_max_num_queries: Any):
    with django_assert_max_num_queries(20):
        page = get(client, "/")
    assert "Top contributors" in page
    assert "Active contributors" in page and "New contributors" in page
    assert "Median time to first response" in page
    assert '<svg class="chart bars"' in page and "Contributions per week by kind" in page
    assert "Queued" in page and "Running" in page and "Waiting for approval" in page
    assert "Latest records" in page and "/leaderboard/demo-cpu/" in page
    assert 'href="/c/dev' in page  # top contributors link to their profiles
    assert "<script" not in page  # server-rendered, no JavaScript


def test_page_queries_do_not_grow_with_the_data(client: Client, db: None):
    small = build_community(people=5, per_person=3)
    urls = [
        "/",
        "/c/dev0/",
        "/honors/",
        "/leaderboard/demo-cpu/",
        f"/submissions/{small.baseline.pk}/",
    ]
    before = {url: _queries(client, url) for url in urls}
    more = Contributor.objects.bulk_create(
        Contributor(github_id=90_000 + i, login=f"extra{i}") for i in range(150)
    )
    Contribution.objects.bulk_create(
        Contribution(
            contributor=person,
            kind=ContributionKind.CODE if n % 2 else ContributionKind.DOC,
            occurred_at=timezone.now() - timedelta(days=n * 7),
            source=ContributionSource.MANUAL,
            external_id=f"extra:{person.pk}:{n}",
        )
        for person in [*more, small.star]
        for n in range(20)
    )
    after = {url: _queries(client, url) for url in urls}
    assert after == before


def test_empty_dashboard(client: Client, db: None):
    page = get(client, "/")
    assert "Top contributors" in page and "No contributions this month yet" in page


def test_honour_roll_live_with_switchers_and_badges(
    client: Client, community: Community, django_assert_max_num_queries: Any
):
    with django_assert_max_num_queries(12):
        page = get(client, "/honors/")
    assert "Live" in page and 'aria-current="page">Month<' in page
    assert "period=year" in page and "category=reviews" in page
    assert 'class="badge"' in page  # badges inline
    assert 'href="/c/dev0/"' in page


def test_honour_roll_past_period_is_frozen(
    client: Client, community: Community, django_assert_max_num_queries: Any
):
    last = period_window(
        period="month", at=period_window(period="month").starts_at - timedelta(days=1)
    )
    url = f"/honors/?period=month&category=code&at={last.starts_at:%Y-%m-%d}"
    get(client, url)  # freezes on first view
    with django_assert_max_num_queries(12):
        page = get(client, url)
    assert "Frozen" in page and last.label in page
    assert 'rel="next"' in page and 'rel="prev"' in page
    # The badges shown are those earned by the period's end: the community's came later.
    assert 'class="badge"' in get(client, "/honors/") and 'class="badge"' not in page


def test_wrong_parameters_are_refused_by_name(client: Client, community: Community):
    for path, name in (
        ("/honors/?period=decade", "period"),
        ("/honors/?category=nope", "category"),
        ("/honors/?at=garbage", "at"),
        ("/submissions/?status=winning", "status"),
        ("/submissions/?page=-1", "page"),
        ("/submissions/export.csv?status=winning", "status"),
    ):
        response = client.get(path)
        assert response.status_code == 400 and f"“{name}”" in response.content.decode(), path
    assert "Live" in get(client, "/honors/?period=&category=&at=")
    assert get(client, "/submissions/?page=999&status=&benchmark=")  # past the end: the last


def test_profile(
    client: Client, community: Community, owner: User, django_assert_max_num_queries: Any
):
    with django_assert_max_num_queries(15):
        page = get(client, "/c/dev0/")
    assert "Developer 0" in page
    assert '<span class="avatar big"' in page  # no avatar URL: the initial
    assert '<svg class="chart heatmap"' in page and "in the last year" in page
    assert "By kind" in page and "Code" in page
    assert "<progress" in page and 'for="skill-training"' in page
    assert "First code" in page  # a badge with its citation
    assert "Rotary embeddings" in page and "Best ranks" in page
    assert 'href="https://github.com/sponsors/dev0"' in page


def test_profile_not_sponsored_and_unknown(client: Client, community: Community):
    assert "github.com/sponsors" not in get(client, "/c/dev5/")
    assert client.get("/c/nobody-here/").status_code == 404


def test_leaderboard(client: Client, community: Community, django_assert_max_num_queries: Any):
    with django_assert_max_num_queries(10):
        page = get(client, "/leaderboard/demo-cpu/")
    assert "Leaderboard: Demo (CPU)" in page
    assert "2.6800</a> ± 0.0359" in page  # the best: 2.95 - 27 * 0.01, ± its 95 % interval
    assert '<tr class="baseline-row">' in page and "=1</abbr>" in page  # overlapping: tied
    assert "-0.3200" in page  # delta to the 3.0 baseline
    assert "812,345" in page and "52,00" in page  # params, bytes/s
    assert '<svg class="chart lines"' in page and "Record progression" in page
    assert client.get("/leaderboard/nope/").status_code == 404


def test_submission_page(client: Client, community: Community, django_assert_max_num_queries: Any):
    submission = community.scored[0]
    with django_assert_max_num_queries(10):
        page = get(client, f"/submissions/{submission.pk}/")
    assert "Scored" in page and "2.9500" in page
    assert '<svg class="chart lines"' in page and "baseline seed 0" in page
    assert "done seed 1" in page  # log tail
    assert "<form" not in page.split("<main", 1)[1]  # anonymous: no buttons
    assert 'http-equiv="refresh"' not in page and "hx-trigger" not in page  # finished: still


def test_running_submission_shows_progress_and_refreshes(client: Client, community: Community):
    submission = community.scored[1]
    submission.status = Submission.Status.RUNNING
    submission.save()
    run = submission.runs.get(seed=1)
    run.status = "running"
    run.progress_bytes = 102400
    run.current_loss = 2.345
    run.save()
    page = get(client, f"/submissions/{submission.pk}/")
    # htmx (vendored) swaps the live part every 3 s; without JavaScript the page reloads.
    assert 'hx-trigger="every 3s"' in page and "/static/vendor/htmx-2.0.11/htmx.min.js" in page
    assert '<noscript><meta http-equiv="refresh"' in page and "<progress" in page
    assert "2.3450" in page and "of 819200 bytes" in page


def test_a_run_cut_by_the_wall_clock_cap_says_so(client: Client, community: Community):
    submission = community.scored[0]
    run = submission.runs.first()
    run.metrics = {"stopped_early": True, "bytes_trained": 282624, "byte_budget": 614400}
    run.save()
    page = get(client, f"/submissions/{submission.pk}/")
    assert "stopped at the wall-clock cap after 282624 of 614400 bytes" in page


def test_the_weekly_chart_tells_fourteen_kinds_apart() -> None:
    """Seven hues far apart, then the same hues hatched: no two kinds look alike, in the bars
    and in their key."""
    kinds = [f"kind {n}" for n in range(14)]
    fills = [area_fill(n, prefix="t")[0] for n in range(14)]
    assert len(set(fills)) == 14 and fills[7] == "url(#t-7)"
    chart = stacked_bars(labels=["w1"], series=[(k, [1]) for k in kinds], title="weeks")
    assert chart.count("<pattern ") == 7 and 'fill="url(#bars-fill-13)"' in chart
    key = legend(kinds, areas=True)
    assert key.count("<pattern ") == 7 and 'fill="url(#key-fill-8)"' in key
