"""Property-based: whatever query string or path a person (or a crawler) sends to a page, the
page answers as a page (200, a redirect, 400 naming the parameter, or 404), never a server
error."""

from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contrib.docs import doc_revision_create
from tests.web.conftest import Community

pytestmark = pytest.mark.django_db

# Printable text of any script, no surrogates (a URL carries UTF-8).
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
NUMBER = st.integers(min_value=-(10**30), max_value=10**30).map(str)
TIME = st.datetimes().map(lambda t: t.isoformat()) | st.sampled_from(
    ["2026-13-45T00:00:00", "0001-01-01", "9999-12-31T23:59:59", "2026-02-30", "now", ""]
)
VALUE = TEXT | NUMBER | TIME
# The parameters the pages read, and some they do not.
NAMES = st.sampled_from(
    [
        "at",
        "period",
        "category",
        "from",
        "to",
        "benchmark",
        "status",
        "contributor",
        "page",
        "kind",
        "style",
        "label",
        "q",
        "next",
        "x",
    ]
)
QUERY = st.dictionaries(NAMES | TEXT.filter(bool), VALUE, max_size=5)
PAGES = [
    "/",
    "/honors/",
    "/issues/",
    "/sponsors/",
    "/docs/",
    "/docs/guide/",
    "/docs/guide/history/",
    "/submit/",
    "/c/{star}/",
    "/leaderboard/{benchmark}/",
    "/submissions/{submission}/",
    "/submissions/",
    "/submissions/export.csv",
    "/submissions/export.json",
    "/leaderboard/{benchmark}/export.csv",
    "/badges/c/{star}.svg",
    "/cards/c/{star}.png",
    "/badges/record/{benchmark}.svg",
    "/contributors/wall.svg",
    "/contributors/wall.md",
]
ANSWERS = {200, 301, 302, 400, 404}
SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def pages(community: Community, staff: Any) -> list[str]:
    doc_revision_create(user=staff, title="Guide", body="# Guide\n\nRun `make run`.\n")
    doc_revision_create(user=staff, title="Guide", body="# Guide\n\nRun `make run` first.\n")
    names = {
        "star": community.star.login,
        "benchmark": community.benchmark.slug,
        "submission": community.scored[0].pk,
    }
    return [page.format(**names) for page in PAGES]


@pytest.mark.parametrize("index", range(len(PAGES)))
@SETTINGS
@given(query=QUERY)
def test_any_query_string_on_any_page_is_answered_as_a_page(
    client: Client, pages: list[str], index: int, query: dict[str, str]
) -> None:
    response = client.get(pages[index], query)
    assert response.status_code in ANSWERS, (pages[index], query, response.status_code)
    if response.status_code == 400:  # a person is told which parameter is wrong
        body = response.content.decode()
        assert any(f"“{name}”" in body for name in query), (pages[index], query, body)


@SETTINGS
@given(login=TEXT.filter(bool), slug=TEXT.filter(bool), number=NUMBER)
def test_any_path_parameter_is_answered_as_a_page(
    client: Client, pages: list[str], login: str, slug: str, number: str
) -> None:
    from urllib.parse import quote

    for path in (
        f"/c/{quote(login, safe='')}/",
        f"/docs/{quote(slug, safe='')}/",
        f"/docs/{quote(slug, safe='')}/history/",
        f"/leaderboard/{quote(slug, safe='')}/",
        f"/submissions/{number.lstrip('-')}/",
        f"/submissions/{number.lstrip('-')}/cancel/",
    ):
        response = client.get(path)
        assert response.status_code in ANSWERS | {405}, (path, response.status_code)
