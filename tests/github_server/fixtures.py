"""The `github_server` fixture: a fresh fake GitHub per test, with the platform pointed at it."""

from collections.abc import Iterator
from typing import Any

import pytest

from tests.github_server.server import FakeGitHub


@pytest.fixture
def github_server(settings: Any) -> Iterator[FakeGitHub]:
    """A started `FakeGitHub`; settings point the platform's client at it with a test token.

    Retries wait milliseconds rather than GitHub's minute, and PyGithub's pacing between writes
    is off, so the suite stays fast while the retry code paths still run.
    """
    fake = FakeGitHub().start()
    settings.GITHUB_API_URL = fake.api_url
    settings.GITHUB_TOKEN = "test-token"
    settings.GITHUB_APP_ID = ""
    settings.GITHUB_APP_PRIVATE_KEY = ""
    settings.GITHUB_SECONDARY_RATE_WAIT = 0.05
    settings.GITHUB_MAX_RATE_LIMIT_WAIT = 5.0
    settings.GITHUB_SECONDS_BETWEEN_REQUESTS = 0.0
    settings.GITHUB_SECONDS_BETWEEN_WRITES = 0.0
    settings.GITHUB_TIMEOUT = 5
    settings.PLATFORM_URL = "https://crucible.test"
    try:
        yield fake
    finally:
        fake.stop()
