"""Shared fixtures: signed GitHub deliveries, GitHub's example payloads, throwaway servers."""

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from contrib.github.signature import signature_for
from tests.support import servers

FIXTURES = Path(__file__).parent / "fixtures" / "github"


def load_payload(name: str) -> dict[str, Any]:
    """A GitHub example payload by file stem, e.g. `pull_request.opened`."""
    return json.loads((FIXTURES / f"{name}.json").read_text())


def all_payload_names() -> list[str]:
    return sorted(path.stem for path in FIXTURES.glob("*.json"))


def event_of(name: str) -> str:
    return name.split(".", 1)[0]


def signed_headers(body: bytes, *, event: str, delivery_id: str | None = None) -> dict[str, str]:
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id or str(uuid.uuid4()),
        "X-Hub-Signature-256": signature_for(secret=settings.GITHUB_WEBHOOK_SECRET, body=body),
    }


PostDelivery = Callable[..., Any]


@pytest.fixture
def post_delivery(client: Client, django_capture_on_commit_callbacks: Any) -> PostDelivery:
    """POST a signed delivery like GitHub does; the queued processing runs inline (eager)."""

    def post(event: str, payload: dict[str, Any], *, delivery_id: str | None = None) -> Any:
        body = json.dumps(payload).encode()
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                "/webhooks/github/",
                data=body,
                content_type="application/json",
                headers=signed_headers(body, event=event, delivery_id=delivery_id),
            )

    return post


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    reason = servers.redis_missing()
    if reason:
        pytest.skip(f"Redis tests skipped: {reason}")
    with servers.redis_server() as url:
        yield url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL of its own, whichever database the suite itself runs on."""
    reason = servers.postgres_missing()
    if reason:
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    with servers.postgres_server() as url:
        yield url


def database_url_for_subprocesses() -> str:
    """A DATABASE_URL through which another process sees the test database."""
    params = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{params['NAME']}"
    user = params.get("USER") or ""
    password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
    host = params.get("HOST") or "127.0.0.1"
    port = f":{params['PORT']}" if params.get("PORT") else ""
    return f"postgres://{user}{password}@{host}{port}/{params['NAME']}"


# Texts a test records as its `summary` property (`record_property("summary", …)`), printed at
# the end of the run: pytest-xdist shows nothing its workers print, but it sends their reports.
_SUMMARIES: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call":
        _SUMMARIES.extend(str(value) for name, value in report.user_properties if name == "summary")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for text in _SUMMARIES:
        terminalreporter.write_sep("=", "recorded summary")
        terminalreporter.write_line(text)


from tests.github_server.fixtures import github_server  # noqa: E402, F401
