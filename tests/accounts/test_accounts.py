"""Accounts: sign in with GitHub through the OAuth web flow of the GitHub-compatible test server
(allauth talks to it over real HTTP), the contributor and maintainer role that follow, local
accounts, and API tokens created and revoked by their owner."""

import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from allauth.socialaccount.providers.github.views import GitHubOAuth2Adapter
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.services import MAINTAINERS_GROUP, api_token_create
from contrib.contributors import contributor_get_or_create_for_user
from contrib.models import Contribution, Contributor
from tests.factories import ContributionFactory, ContributorFactory, RepositoryFactory
from tests.github_server.server import FakeGitHub

pytestmark = pytest.mark.django_db
CLIENT_ID, CLIENT_SECRET = "Iv1.test-client", "test-client-secret"
REPO = "crucible-org/model"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@pytest.fixture
def github(github_server: FakeGitHub, settings: Any, monkeypatch: Any) -> Iterator[FakeGitHub]:
    """The test server as the GitHub that people sign in with.

    allauth's GitHub adapter reads `GITHUB_URL` once, when it is imported; these in-process tests
    point its four URLs at the server the way that setting does (`<url>/login/oauth/…`,
    `<url>/api/v3/user`). The browser tests set `GITHUB_OAUTH_URL` in the live server's
    environment instead, the way a deployment does."""
    github_server.oauth_apps[CLIENT_ID] = CLIENT_SECRET
    settings.SOCIALACCOUNT_PROVIDERS = {
        "github": {
            "SCOPE": ["read:user", "user:email"],
            "APPS": [{"client_id": CLIENT_ID, "secret": CLIENT_SECRET}],
        }
    }
    web, api = github_server.url, github_server.api_url
    monkeypatch.setattr(GitHubOAuth2Adapter, "access_token_url", f"{web}/login/oauth/access_token")
    monkeypatch.setattr(GitHubOAuth2Adapter, "authorize_url", f"{web}/login/oauth/authorize")
    monkeypatch.setattr(GitHubOAuth2Adapter, "profile_url", f"{api}/user")
    monkeypatch.setattr(GitHubOAuth2Adapter, "emails_url", f"{api}/user/emails")
    github_server.repo(REPO)
    RepositoryFactory(full_name=REPO)
    yield github_server


def sign_in_with_github(
    client: Client, github: FakeGitHub, login: str, *, process: str = "login"
) -> Any:
    """Click "Sign in with GitHub" as `login`, approve on GitHub, come back; the last response."""
    github.oauth_user = login
    started = client.post("/accounts/github/login/", {"process": process})
    assert started.status_code == 302, started.content[:300]
    authorize = started["Location"]
    assert authorize.startswith(f"{github.url}/login/oauth/authorize?")
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        opener.open(authorize)
        raise AssertionError("GitHub did not redirect back")
    except urllib.error.HTTPError as answer:
        callback = answer.headers["Location"]
    parts = urllib.parse.urlsplit(callback)
    return client.get(f"{parts.path}?{parts.query}")


def test_github_sign_in_links_the_contributor_and_makes_a_maintainer(github: FakeGitHub) -> None:
    octo = github.user("octo-maintainer", user_id=5501)
    github.set_permission(REPO, "octo-maintainer", "maintain")
    # Their GitHub activity was recorded by webhooks before they ever signed in.
    contributor = ContributorFactory(github_id=octo["id"], login="octo-maintainer")
    ContributionFactory(contributor=contributor, kind="review")

    client = Client()
    done = sign_in_with_github(client, github, "octo-maintainer")

    assert done.status_code == 302 and done["Location"] == "/"
    user = User.objects.get(username="octo-maintainer")
    contributor.refresh_from_db()
    assert contributor.user_id == user.pk
    assert user.is_staff and user.groups.filter(name=MAINTAINERS_GROUP).exists()
    assert user.has_perm("contrib.change_bounty")
    page = client.get("/")
    assert b"octo-maintainer" in page.content and b"/admin/" in page.content
    assert client.get("/admin/").status_code == 200
    # The same person signing in again is the same user and contributor.
    client.logout()
    sign_in_with_github(client, github, "octo-maintainer")
    assert User.objects.filter(username="octo-maintainer").count() == 1
    assert Contributor.objects.filter(github_id=octo["id"]).count() == 1


def test_a_contributor_without_write_access_is_not_a_maintainer(github: FakeGitHub) -> None:
    github.user("newcomer", user_id=7702)
    github.set_permission(REPO, "newcomer", "read")
    client = Client()
    sign_in_with_github(client, github, "newcomer")

    user = User.objects.get(username="newcomer")
    assert not user.is_staff
    contributor = Contributor.objects.get(github_id=7702)
    assert contributor.user_id == user.pk and contributor.login == "newcomer"
    assert client.get("/admin/").status_code == 302  # to the admin's sign-in


def test_losing_write_access_on_github_takes_the_maintainer_role_away(github: FakeGitHub) -> None:
    github.user("former", user_id=8803)
    github.set_permission(REPO, "former", "write")
    client = Client()
    sign_in_with_github(client, github, "former")
    assert User.objects.get(username="former").is_staff
    client.logout()
    github.set_permission(REPO, "former", "read")
    from django.core.cache import cache

    cache.clear()  # the permission is cached for GITHUB_PERMISSION_CACHE_SECONDS
    sign_in_with_github(client, github, "former")
    assert not User.objects.get(username="former").is_staff


def test_a_local_accounts_contributions_follow_it_to_github(github: FakeGitHub) -> None:
    """Someone who used a local account first keeps what they did once they connect GitHub."""
    user = User.objects.create_user("dana", password="a-long-password-1")
    local = contributor_get_or_create_for_user(user=user)
    ContributionFactory(contributor=local, kind="doc")
    github.user("dana-gh", user_id=9904)
    client = Client()
    assert client.login(username="dana", password="a-long-password-1")
    sign_in_with_github(client, github, "dana-gh", process="connect")

    linked = Contributor.objects.get(github_id=9904)
    assert Contribution.objects.filter(contributor=linked, kind="doc").count() == 1
    local.refresh_from_db()
    assert local.merged_into_id == linked.pk


def test_a_forged_callback_signs_nobody_in(github: FakeGitHub) -> None:
    github.user("mallory", user_id=6606)
    client = Client()
    client.post("/accounts/github/login/", {"process": "login"})
    page = client.get("/accounts/github/login/callback/?code=made-up&state=made-up")
    assert page.status_code == 401
    assert b"Sign-in with GitHub failed" in page.content
    assert not User.objects.filter(username="mallory").exists()
    assert "_auth_user_id" not in client.session


def test_sign_in_page_offers_github_and_a_local_account_with_labelled_inputs(
    github: FakeGitHub,
) -> None:
    page = Client().get("/accounts/login/?next=/submit/").content.decode()
    assert "Sign in with GitHub" in page
    assert 'action="/accounts/github/login/' in page
    for field in ("id_login", "id_password"):
        assert f'<label for="{field}"' in page


def test_local_sign_up_and_when_it_is_closed(settings: Any) -> None:
    client = Client()
    answer = client.post(
        "/accounts/signup/",
        {
            "username": "local-dev",
            "password1": "a-long-password-1",
            "password2": "a-long-password-1",
        },
    )
    assert answer.status_code == 302
    assert User.objects.filter(username="local-dev").exists()
    # A profile from the first minute, in the account menu, and no GitHub link: not linked.
    home = client.get("/").content.decode()
    assert '<a href="/c/local-dev/">Your profile</a>' in home
    profile = client.get("/c/local-dev/")
    assert profile.status_code == 200
    assert "not linked to GitHub" in profile.content.decode()
    assert "github.com/local-dev" not in profile.content.decode()
    settings.ACCOUNT_ALLOW_SIGNUP = False
    closed = Client().get("/accounts/signup/")
    assert b"Sign Up Closed" in closed.content and b'name="password1"' not in closed.content
    refused = Client().post(
        "/accounts/signup/",
        {"username": "late", "password1": "a-long-password-1", "password2": "a-long-password-1"},
    )
    assert b"Sign Up Closed" in refused.content
    assert not User.objects.filter(username="late").exists()


# --- API tokens ----------------------------------------------------------------------------


@pytest.fixture
def alice() -> User:
    return User.objects.create_user("alice", password="a-long-password-1")


def test_owner_creates_a_token_sees_it_once_and_it_works_on_the_api(alice: User) -> None:
    client = Client()
    client.force_login(alice)
    created = client.post("/account/tokens/", {"name": "CI on my fork"})
    assert created.status_code == 201
    key = created.context["new_key"]
    assert key.startswith("cru_") and key in created.content.decode()
    token = ApiToken.objects.get(user=alice)
    assert token.digest != key and key not in str(ApiToken.objects.values().get())
    assert key not in client.get("/account/tokens/").content.decode()  # shown once

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    doc = {"slug": "tokens", "title": "Tokens", "body": "Hello", "message": "first"}
    assert api.post("/api/doc-pages/", doc, format="json").status_code == 201
    token.refresh_from_db()
    assert token.last_used_at is not None
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert bearer.post("/api/doc-pages/", {**doc, "body": "Hi"}, format="json").status_code == 201


def test_a_revoked_token_stops_working_with_a_clear_message(alice: User) -> None:
    token, key = api_token_create(user=alice, name="laptop")
    client = Client()
    client.force_login(alice)
    assert client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 302
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    refused = api.post("/api/doc-pages/", {"slug": "x", "title": "x", "body": "x"}, format="json")
    assert refused.status_code == 401
    assert refused.json()["detail"] == "Unknown or revoked API token."
    assert "revoked" in client.get("/account/tokens/").content.decode()


def test_nobody_else_can_see_or_revoke_a_token(alice: User) -> None:
    token, _key = api_token_create(user=alice, name="laptop")
    bob = User.objects.create_user("bob", password="a-long-password-1")
    client = Client()
    client.force_login(bob)
    assert "laptop" not in client.get("/account/tokens/").content.decode()
    assert client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.is_active
    assert Client().get("/account/tokens/").status_code == 302  # anonymous: to sign in
    assert client.get(f"/account/tokens/{token.pk}/revoke/").status_code == 405


def test_a_token_needs_a_name_and_the_form_says_so(alice: User) -> None:
    client = Client()
    client.force_login(alice)
    answer = client.post("/account/tokens/", {"name": ""})
    assert answer.status_code == 400
    assert "This field is required." in answer.content.decode()
    assert not ApiToken.objects.exists()


def test_a_maintainer_revokes_a_leaked_token_in_the_admin(alice: User) -> None:
    token, _key = api_token_create(user=alice, name="leaked")
    admin_user = User.objects.create_superuser("root", password="a-long-password-1")
    client = Client()
    client.force_login(admin_user)
    listing = client.get("/admin/accounts/apitoken/")
    assert listing.status_code == 200 and b"Crucible admin" in listing.content
    client.post(
        "/admin/accounts/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    token.refresh_from_db()
    assert not token.is_active


def test_the_tokens_page_reads_a_bounded_number_of_queries(
    alice: User, django_assert_max_num_queries: Any
) -> None:
    for n in range(40):
        api_token_create(user=alice, name=f"token {n}")
    client = Client()
    client.force_login(alice)
    with django_assert_max_num_queries(6):
        page = client.get("/account/tokens/")
    assert page.content.decode().count('aria-label="Revoke token ') == 40
