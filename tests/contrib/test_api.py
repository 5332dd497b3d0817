"""The read API: public reads, filters, scores; no anonymous writes; the generated schema."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import api_token_create
from tests.factories import ContributionFactory, ContributorFactory, RepositoryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def test_contributors_list_scores_and_counts_in_bounded_queries(
    api: APIClient, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    for n in range(30):
        person = ContributorFactory(login=f"p{n:02d}")
        for _ in range(n % 4):
            ContributionFactory(contributor=person, kind="review")
    with django_assert_max_num_queries(4):
        response = api.get("/api/contributors/?page_size=10")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 30 and len(body["results"]) == 10
    top = body["results"][0]
    assert top["counts"]["review"] == 3 and float(top["score"]) == 9.0
    detail = api.get("/api/contributors/P03/").json()
    assert detail["login"] == "p03" and detail["contribution_count"] == 3


def test_contributions_filter_by_kind_repository_contributor_and_dates(api: APIClient) -> None:
    repo = RepositoryFactory(full_name="org/model")
    alice = ContributorFactory(login="alice")
    ContributionFactory(contributor=alice, kind="code", repository=repo)
    ContributionFactory(
        contributor=alice, kind="doc", occurred_at=timezone.now() - timedelta(days=100)
    )
    ContributionFactory(kind="code")

    def count(query: str) -> int:
        return int(api.get(f"/api/contributions/?{query}").json()["count"])

    assert count("") == 3
    assert count("kind=code") == 2
    assert count("kind=code&kind=doc&contributor=ALICE") == 2
    assert count("repository=org/model") == 1
    since = (timezone.now() - timedelta(days=30)).isoformat().replace("+00:00", "Z")
    assert count(f"since={since}") == 2
    assert api.get("/api/contributions/?kind=nonsense").status_code == 400


def test_writes_are_never_anonymous_and_not_offered_at_all(api: APIClient) -> None:
    assert api.post("/api/contributions/", {"kind": "code"}, format="json").status_code in (
        401,
        403,
    )
    user = User.objects.create_user("u", password="pw-123456789")
    _token, key = api_token_create(user=user, name="script")
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.post("/api/contributions/", {"kind": "code"}, format="json").status_code in (
        403,
        405,
    )
    assert api.get("/api/repositories/").status_code == 200


def test_issue_and_pull_request_lists(api: APIClient) -> None:
    assert api.get("/api/issues/").status_code == 200
    assert api.get("/api/pull-requests/?merged=true").status_code == 200


def test_openapi_schema_and_swagger_ui_are_served_without_a_cdn(api: APIClient) -> None:
    schema = api.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/contributions/" in schema.content
    docs = api.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content and b"cdn" not in docs.content.lower()
