"""Where to start, docs (page, history, diff, edit) and sponsors."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from contrib.bounties import bounty_create
from contrib.docs import doc_revision_create
from contrib.models import DocPage, Issue
from tests.factories import SponsorshipFactory
from tests.web.conftest import Community

pytestmark = pytest.mark.django_db


@pytest.fixture
def writer(db: None) -> User:
    return User.objects.create_user("writer", password="pw")


@pytest.fixture
def page(writer: User) -> DocPage:
    for n in range(5):
        doc_revision_create(
            user=writer,
            title="Getting started",
            body=f"# Hello\n\nStep {n}: run `make run`.\n\n<script>alert(1)</script>\n",
            message=f"edit {n}",
        )
    return DocPage.objects.get(slug="getting-started")


def test_issues_page(
    client: Client, community: Community, staff: User, django_assert_max_num_queries: Any
):
    bounty_create(
        issue=Issue.objects.get(number=3),
        title="Speed up the data loader",
        amount_minor=25_000,
        currency="USD",
        funder="Acme",
        user=staff,
    )
    with django_assert_max_num_queries(6):
        page = client.get("/issues/").content.decode()
    assert "Good first issues" in page and "Issue 5" in page and "good first issue" in page
    assert "Speed up the data loader" in page and "250 USD" in page
    assert "Waiting for a first answer" in page and "Issue 3" in page


def test_sponsors_page_lists_public_sponsors_only(client: Client, community: Community):
    SponsorshipFactory(
        node_id="S_2",
        sponsor=community.people[2],
        sponsorable=community.star,
        privacy_level="private",
    )
    page = client.get("/sponsors/").content.decode()
    assert 'href="/c/dev1/"' in page and "Supporter" in page
    assert 'href="/c/dev2/"' not in page


def test_doc_page_history_and_diff(
    client: Client, page: DocPage, django_assert_max_num_queries: Any
):
    assert "Getting started" in client.get("/docs/").content.decode()
    with django_assert_max_num_queries(5):
        html = client.get("/docs/getting-started/").content.decode()
    assert "<h1>Hello</h1>" in html and "Step 4" in html and "<script>alert" not in html
    with django_assert_max_num_queries(6):
        history = client.get("/docs/getting-started/history/?from=4&to=5").content.decode()
    assert "-Step 3: run" in history and "+Step 4: run" in history and "edit 4" in history
    bad = client.get("/docs/getting-started/history/?from=1&to=99").content.decode()
    assert "no revision 99" in bad
    assert client.get("/docs/nope/").status_code == 404


def test_doc_edit_requires_sign_in_and_records_a_revision(
    client: Client, page: DocPage, writer: User
):
    assert client.get("/docs/getting-started/edit/").status_code == 302
    client.force_login(writer)
    form = client.get("/docs/getting-started/edit/").content.decode()
    assert '<label for="id_body">' in form and "Step 4" in form
    response = client.post(
        "/docs/getting-started/edit/",
        {"title": "Getting started", "body": "# Hello\n\nNew text.", "message": "rewrite"},
    )
    assert response.status_code == 302 and response["Location"] == "/docs/getting-started/"
    assert page.revisions.count() == 6


def test_doc_edit_errors_next_to_fields(client: Client, writer: User):
    client.force_login(writer)
    response = client.post("/docs/new/", {"title": "", "body": ""})
    html = response.content.decode()
    assert response.status_code == 400
    title = html.split('<label for="id_title">', 1)[1].split('<div class="field', 1)[0]
    assert "This field is required." in title and 'aria-invalid="true"' in title
    response = client.post("/docs/new/", {"title": "FAQ", "body": "Ask away."})
    assert response.status_code == 302 and DocPage.objects.filter(slug="faq").exists()
