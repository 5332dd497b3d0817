"""The only place that builds a PyGithub client.

Everything the platform asks of GitHub goes through `github_client`: one base URL (GitHub
Enterprise works), one timeout, PyGithub's retry for 5xx and secondary rate limits, and a bounded
wait on the primary limit. When the wait would exceed `GITHUB_MAX_RATE_LIMIT_WAIT`, PyGithub
raises instead of sleeping and `github_call` turns that into `GitHubRateLimitWaitTooLong`, whose
message says how long and until when.
"""

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from github import Auth, Github, GithubException, GithubRetry, RateLimitExceededException
from github.GithubException import RateLimitExceededExceedsMaxWait
from github.Requester import Requester
from urllib3 import Retry

from contrib.models import Repository

PER_PAGE = 100  # GitHub's maximum page size: fewest requests for a backfill


class GitHubNotConfigured(Exception):  # noqa: N818 - a state of the deployment
    """Neither a token nor a GitHub App is configured, so the platform cannot call GitHub."""


class GitHubRateLimitWaitTooLong(Exception):  # noqa: N818 - reads better at the raise site
    """GitHub's rate limit would make us wait longer than `GITHUB_MAX_RATE_LIMIT_WAIT`."""

    def __init__(self, *, wait: float, limit: float) -> None:
        resume = datetime.now(UTC) + timedelta(seconds=wait)
        super().__init__(
            f"GitHub's rate limit would need a {wait:.0f}s wait, more than the "
            f"{limit:.0f}s allowed (GITHUB_MAX_RATE_LIMIT_WAIT); it resets around "
            f"{resume:%Y-%m-%d %H:%M:%S} UTC: run again then, the work resumes where it stopped"
        )
        self.wait = wait
        self.limit = limit


def _retry(*, retry_writes: bool) -> GithubRetry:
    # urllib3's default methods are the idempotent ones; GitHub's POSTs are not.
    methods = Retry.DEFAULT_ALLOWED_METHODS | ({"POST", "PATCH"} if retry_writes else set())
    return GithubRetry(
        total=settings.GITHUB_RETRIES,
        allowed_methods=methods,
        backoff_factor=0.5,
        # Retries spent, hand back GitHub's last answer so PyGithub raises it with its status.
        raise_on_status=False,
        secondary_rate_wait=settings.GITHUB_SECONDARY_RATE_WAIT,
        max_rate_limit_wait=settings.GITHUB_MAX_RATE_LIMIT_WAIT,
    )


def app_configured() -> bool:
    return bool(settings.GITHUB_APP_ID and settings.GITHUB_APP_PRIVATE_KEY)


# Installation auths by (API, app, installation): each holds its token until it nears expiry,
# so clients built one after another do not each ask GitHub for a new one.
_installation_auths: dict[tuple[str, str, int, int], Auth.AppInstallationAuth] = {}


def _auth(installation_id: int | None) -> Auth.Auth:
    if installation_id and app_configured():
        key = (
            settings.GITHUB_API_URL,
            str(settings.GITHUB_APP_ID),
            hash(settings.GITHUB_APP_PRIVATE_KEY),
            int(installation_id),
        )
        if key not in _installation_auths:
            app = Auth.AppAuth(settings.GITHUB_APP_ID, settings.GITHUB_APP_PRIVATE_KEY)
            _installation_auths[key] = app.get_installation_auth(int(installation_id))
        return _installation_auths[key]
    if settings.GITHUB_TOKEN:
        return Auth.Token(settings.GITHUB_TOKEN)
    raise GitHubNotConfigured(
        "set GITHUB_TOKEN, or GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY with the repository's "
        "installation id, to call GitHub"
    )


def github_client(*, repository: Repository | None = None, retry_writes: bool = True) -> Github:
    """A PyGithub client for calls about `repository` (App installation auth where it has one).

    Objects it creates are lazy: `get_repo` costs no request until a field is read.
    `retry_writes=False` leaves failed POST/PATCH requests to the caller, for writes that must
    not happen twice (a comment posted again after its answer was lost).
    """
    installation_id = repository.installation_id if repository is not None else None
    return Github(
        auth=_auth(installation_id),
        base_url=settings.GITHUB_API_URL.rstrip("/"),
        timeout=settings.GITHUB_TIMEOUT,
        per_page=PER_PAGE,
        retry=_retry(retry_writes=retry_writes),
        seconds_between_requests=settings.GITHUB_SECONDS_BETWEEN_REQUESTS or None,
        seconds_between_writes=settings.GITHUB_SECONDS_BETWEEN_WRITES or None,
        lazy=True,
    )


def authenticated_as_app(*, repository: Repository) -> bool:
    """Check runs can only be written by a GitHub App, not with a personal token."""
    return bool(repository.installation_id) and app_configured()


@contextlib.contextmanager
def github_call() -> Iterator[None]:
    """Turn PyGithub's rate-limit give-up into the platform's clear error."""
    try:
        yield
    except RateLimitExceededExceedsMaxWait as exc:
        raise GitHubRateLimitWaitTooLong(
            wait=float(exc.wait or 0.0), limit=settings.GITHUB_MAX_RATE_LIMIT_WAIT
        ) from exc
    except RateLimitExceededException as exc:
        # Retries exhausted on a rate limit: report it the same way, with the reset we know.
        headers = {str(k).lower(): str(v) for k, v in (exc.headers or {}).items()}
        reset = headers.get("x-ratelimit-reset") or "0"
        wait = max(0.0, int(reset) - datetime.now(UTC).timestamp()) if reset.isdigit() else 0.0
        raise GitHubRateLimitWaitTooLong(
            wait=wait, limit=settings.GITHUB_MAX_RATE_LIMIT_WAIT
        ) from exc


@dataclass
class Page:
    """One page of a REST list, as GitHub's own JSON objects."""

    number: int
    items: list[dict[str, Any]]
    has_next: bool
    last_page: int | None = None  # from GitHub's `Link: rel="last"`, for progress and ETA


def _links(headers: dict[str, Any]) -> dict[str, str]:
    """GitHub's `Link` header as {rel: url}."""
    links = {}
    for part in str(headers.get("link") or headers.get("Link") or "").split(","):
        url, _, rel = part.partition(";")
        rel = rel.strip().removeprefix("rel=").strip('"')
        if rel:
            links[rel] = url.strip().strip("<>")
    return links


def _page_number(url: str | None) -> int | None:
    if not url:
        return None
    values = parse_qs(urlsplit(url).query).get("page")
    return int(values[0]) if values and values[0].isdigit() else None


def iter_pages(
    gh: Github, path: str, *, params: dict[str, Any] | None = None, start_page: int = 1
) -> Iterator[Page]:
    """Pages of a list endpoint through PyGithub's requester (auth, retries, rate limits),
    following GitHub's `Link: rel="next"`, from `start_page` so an interrupted walk resumes.

    Raw JSON rather than PyGithub objects: the backfill feeds GitHub's own shapes to the same
    field mappers as the webhook handlers, and reading `raw_data` of a lazy object would cost a
    request per item.
    """
    requester: Requester = gh.requester
    page = start_page
    while True:
        with github_call():
            headers, data = requester.requestJsonAndCheck(
                "GET", path, parameters={**(params or {}), "per_page": PER_PAGE, "page": page}
            )
        items = list(data) if isinstance(data, list) else []
        links = _links(headers)
        has_next = "next" in links and bool(items)
        last = _page_number(links.get("last")) or (page if not has_next else None)
        yield Page(number=page, items=items, has_next=has_next, last_page=last)
        if not has_next:
            return
        page += 1


def get_json(gh: Github, path: str, *, params: dict[str, Any] | None = None) -> Any:
    """One GET through PyGithub's requester, as GitHub's JSON."""
    with github_call():
        _headers, data = gh.requester.requestJsonAndCheck("GET", path, parameters=params)
    return data


def rate_limit_remaining(gh: Github) -> int | None:
    """Requests left in this hour, as of the last response (no request made to find out)."""
    remaining, limit = gh.requester.rate_limiting
    return remaining if limit >= 0 else None


def is_transient(exc: BaseException) -> bool:
    """Worth retrying later: rate limits, GitHub's 5xx after PyGithub's own retries, network."""
    if isinstance(exc, GitHubRateLimitWaitTooLong | RateLimitExceededException):
        return True
    if isinstance(exc, GithubException):
        return exc.status >= 500 or exc.status == 429
    import requests

    return isinstance(exc, requests.RequestException | ConnectionError | TimeoutError)


def archive_download(*, repository: Repository, ref: str) -> bytes:
    """The gzipped tarball of `repository` at `ref` (a SHA for an exact commit).

    GitHub answers the archive URL with a redirect to a short-lived download URL; PyGithub reads
    that location and the download itself needs no API auth.
    """
    import requests

    gh = github_client(repository=repository)
    with github_call():
        location = gh.get_repo(repository.full_name).get_archive_link("tarball", ref)
    response = requests.get(location, timeout=settings.GITHUB_TIMEOUT * 20)
    response.raise_for_status()
    return response.content
