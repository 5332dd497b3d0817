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


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/api/contributors/?page=0", "page"),
        ("/api/contributors/?page=last", "page"),
        ("/api/contributors/?page_size=501", "page_size"),
        ("/api/contributors/?page_size=", "page_size"),
        ("/api/contributors/?ordering=-password", "ordering"),
        ("/api/contributors/?bots=no", "bots"),
        ("/api/contributors/?since=", "since"),
        ("/api/contributions/?since=2026-02-30", "since"),
        ("/api/contributions/?source=", "source"),
        ("/api/contributions/?search=a%00b", "search"),
        ("/api/pull-requests/?label=a%00b", "label"),
        ("/api/repositories/?tracked=1", "tracked"),
        ("/api/honor-rolls/?limit=0", "limit"),
        ("/api/health/?period=", "period"),
        ("/api/bounties/payouts/?month=2026-10-05", "month"),
    ],
)
def test_a_parameter_the_schema_does_not_allow_is_a_400_naming_it(
    api: APIClient, path: str, parameter: str
) -> None:
    api.force_authenticate(User.objects.create_user("staff", is_staff=True))
    response = api.get(path)
    assert response.status_code == 400 and parameter in response.json(), response.json()


def test_a_json_body_value_of_the_wrong_type_is_a_400_naming_the_field(api: APIClient) -> None:
    api.force_authenticate(User.objects.create_user("ann", password="pw-123456789"))
    body = {"title": "Quick start", "body": "Install.", "message": 5, "slug": True}
    response = api.post("/api/doc-pages/", body, format="json")
    assert response.status_code == 400 and set(response.json()) == {"message", "slug"}


def test_an_api_address_that_names_nothing_is_a_json_404(api: APIClient) -> None:
    for path in ("/api/issues/abc/", "/api/contributors/a%00b/", "/api/no-such-thing/1/"):
        response = api.get(path)
        assert response.status_code == 404 and "detail" in response.json(), path


def test_the_schema_allows_anonymous_reads_and_documents_the_errors(api: APIClient) -> None:
    schema = api.get("/api/schema/?format=json").json()
    read, write = (
        schema["paths"]["/api/bounties/"]["get"],
        schema["paths"]["/api/bounties/"]["post"],
    )
    assert {} in read["security"] and {} not in write["security"]
    assert set(read["responses"]) == {"200", "400", "401", "404", "429"}
    assert set(write["responses"]) == {"201", "400", "401", "403", "415", "429"}


@pytest.mark.django_db
def test_the_api_root_is_public_and_lists_every_collection() -> None:
    """Reads are public, so the front door is too (it answered 401 to anonymous readers)."""
    response = APIClient().get("/api/")
    assert response.status_code == 200
    listed = response.json()
    for key in ("contributors", "honor-rolls", "benchmarks", "submissions", "schema"):
        assert listed[key].startswith("http://testserver/api/"), key
    assert APIClient().get(listed["benchmarks"]).status_code == 200
