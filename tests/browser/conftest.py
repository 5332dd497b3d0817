"""Browser tests: the real site (gunicorn), a real Celery worker and an evaluation worker (over
HTTP, without the platform's secrets) on a real Redis, the GitHub
that people sign in with (the GitHub-compatible test server, OAuth flow included), and
Debian's Chromium driven by Playwright."""

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from contrib.models import Repository
from tests.browser.chromium import chromium_missing, launch
from tests.conftest import database_url_for_subprocesses
from tests.factories import RepositoryFactory
from tests.github_server.server import FakeGitHub
from tests.support.processes import (
    celery_worker,
    evaluation_worker,
    fresh_cache_url,
    gunicorn,
    platform_env,
)

CLIENT_ID, CLIENT_SECRET = "Iv1.browser-tests", "browser-tests-secret"
MODEL_REPO = "crucible-org/model"


@dataclass
class Site:
    url: str
    github: FakeGitHub


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub().start()
    fake.oauth_apps[CLIENT_ID] = CLIENT_SECRET
    fake.repo(MODEL_REPO)
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def site(
    transactional_db: Any, redis_url: str, github: FakeGitHub, settings: Any
) -> Iterator[Site]:
    """The site as people reach it, on the test database, with a worker for evaluations. Jobs
    queued by the test itself (a benchmark's baseline) reach the same broker as the site's."""
    settings.CELERY_BROKER_URL = redis_url
    RepositoryFactory(
        github_id=None, full_name=MODEL_REPO, tracked=True, role=Repository.Role.MODEL
    )
    env = platform_env(
        DATABASE_URL=database_url_for_subprocesses(),
        CELERY_BROKER_URL=redis_url,
        CACHE_URL=fresh_cache_url(redis_url),
        CELERY_TASK_ALWAYS_EAGER="false",
        GITHUB_OAUTH_URL=github.url,
        GITHUB_OAUTH_CLIENT_ID=CLIENT_ID,
        GITHUB_OAUTH_CLIENT_SECRET=CLIENT_SECRET,
        GITHUB_API_URL=github.api_url,
        GITHUB_TOKEN="test-token",
        GITHUB_WEBHOOK_SECRET=settings.GITHUB_WEBHOOK_SECRET,  # deliveries the tests sign
        GITHUB_TIMEOUT="5",
        GITHUB_SECONDS_BETWEEN_WRITES="0",
    )
    with (
        gunicorn(env, workers=2, threads=2) as url,
        celery_worker(env, queues="default", concurrency=1),
        evaluation_worker(url, redis_url),
    ):
        yield Site(url=url, github=github)


@pytest.fixture(autouse=True)
def _orm_beside_playwright() -> Iterator[None]:
    """Playwright's sync API keeps an event loop on this thread; the tests' own ORM calls are
    plain synchronous code beside it, which Django refuses unless told (Playwright's advice).
    Only for these tests: the variable must not leak into the rest of the suite's processes."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


# Per module, not per session: while Playwright is open its event loop counts as running on this
# thread, and the rest of the suite must not run beside it.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = chromium_missing()
    if reason and os.environ.get("CRUCIBLE_REQUIRE_BROWSER"):
        pytest.fail(f"browser tests cannot run: {reason}")  # CI must not skip them quietly
    if reason:
        pytest.skip(f"browser tests skipped: {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


def csp_violations(page: Any) -> list[str]:
    """Collects what the Content-Security-Policy blocked on this page, as Chromium reports it."""
    blocked: list[str] = []

    def on_console(message: Any) -> None:
        if "Content Security Policy" in message.text:
            blocked.append(f"{page.url}: {message.text}")

    page.on("console", on_console)
    return blocked


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A page at desktop width. Whatever a test does on it, the site's CSP must block nothing
    the site itself serves (no inline script or style, no stray origin)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    blocked = csp_violations(page)
    try:
        yield page
    finally:
        context.close()
    assert not blocked, "the CSP blocked part of a page:\n" + "\n".join(blocked)
