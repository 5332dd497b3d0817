"""The one PyGithub client, over real HTTP against the local GitHub-compatible server."""

import gzip
import io
import tarfile
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from contrib.github.client import (
    GitHubNotConfigured,
    GitHubRateLimitWaitTooLong,
    archive_download,
    github_client,
    iter_pages,
    rate_limit_remaining,
)
from tests.factories import RepositoryFactory
from tests.github_server.server import FakeGitHub

pytestmark = pytest.mark.django_db


def test_token_auth_base_url_and_rate_limit_headers(github_server: FakeGitHub) -> None:
    github_server.repo("acme/model")
    gh = github_client()
    assert gh.get_repo("acme/model").default_branch == "main"
    request = github_server.requests[-1]
    assert request.path == "/api/v3/repos/acme/model"  # the Enterprise-style prefix is kept
    assert request.authorization == "token test-token"
    assert rate_limit_remaining(gh) == 4999


def test_without_credentials_the_error_says_what_to_set(settings: Any) -> None:
    settings.GITHUB_TOKEN = ""
    settings.GITHUB_APP_ID = ""
    with pytest.raises(GitHubNotConfigured, match="GITHUB_TOKEN"):
        github_client()


def test_pages_follow_link_headers_with_100_per_page(github_server: FakeGitHub) -> None:
    for _ in range(205):
        github_server.issue("acme/model", user="alice")
    pages = list(iter_pages(github_client(), "/repos/acme/model/issues", params={"state": "all"}))
    assert [len(page.items) for page in pages] == [100, 100, 5]
    assert [r.query["page"] for r in github_server.gets("/issues")] == ["1", "2", "3"]
    assert {r.query["per_page"] for r in github_server.gets("/issues")} == {"100"}
    path, params = "/repos/acme/model/issues", {"state": "all"}
    resumed = list(iter_pages(github_client(), path, params=params, start_page=3))
    assert [page.number for page in resumed] == [3]


@pytest.mark.parametrize("failure", ["secondary", "502"])
def test_secondary_limit_and_502_are_retried(github_server: FakeGitHub, failure: str) -> None:
    github_server.repo("acme/model")
    github_server.fail_next(failure, path_contains="/repos/acme/model")
    assert github_client().get_repo("acme/model").default_branch == "main"
    assert len(github_server.gets("/repos/acme/model")) == 2  # one refused, one answered


def test_a_primary_limit_beyond_the_allowed_wait_is_a_clear_error(
    github_server: FakeGitHub, settings: Any
) -> None:
    github_server.repo("acme/model")
    github_server.rate_remaining = 0
    github_server.rate_reset = int(time.time()) + 3600
    settings.GITHUB_MAX_RATE_LIMIT_WAIT = 2.0
    started = time.monotonic()
    with pytest.raises(GitHubRateLimitWaitTooLong, match="GITHUB_MAX_RATE_LIMIT_WAIT") as error:
        list(iter_pages(github_client(), "/repos/acme/model/issues"))
    assert time.monotonic() - started < 2  # gave up at once instead of sleeping an hour
    assert 3500 < error.value.wait <= 3601


def test_app_installation_auth(github_server: FakeGitHub, settings: Any) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key()
    seen: list[dict[str, Any]] = []

    def verify(token: str) -> bool:
        seen.append(jwt.decode(token, public, algorithms=["RS256"]))
        return True

    github_server.jwt_verifier = verify
    settings.GITHUB_APP_ID = "4242"
    settings.GITHUB_APP_PRIVATE_KEY = pem
    github_server.repo("acme/model")
    github_server.repo("acme/other")
    repository = RepositoryFactory(github_id=None, full_name="acme/model", installation_id=77)
    gh = github_client(repository=repository)
    assert gh.get_repo("acme/model").default_branch == "main"
    token_request, repo_request = github_server.requests[-2:]
    assert token_request.path == "/api/v3/app/installations/77/access_tokens"
    assert seen[0]["iss"] == "4242"
    assert repo_request.authorization.startswith("token ghs_installation_77_")
    # A second client reuses the installation token instead of asking for a new one.
    assert github_client(repository=repository).get_repo("acme/other").default_branch == "main"
    assert len([r for r in github_server.writes() if r.path.endswith("/access_tokens")]) == 1


def test_tarball_follows_githubs_redirect_to_the_download(github_server: FakeGitHub) -> None:
    sha = "a" * 40
    github_server.set_archive("acme/model", sha, {"train.py": b"print('hi')\n"})
    repository = RepositoryFactory(github_id=None, full_name="acme/model")
    data = archive_download(repository=repository, ref=sha)
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data))) as tar:
        names = tar.getnames()
    assert names == ["acme-model-aaaaaaa/train.py"]
    assert github_server.requests[-1].path.startswith("/_codeload/acme/model/")
