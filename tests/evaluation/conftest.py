"""A model repository on the fake GitHub, with pull requests whose changed files and tarballs
the tests choose, and helpers to post GitHub's real payloads about them."""

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache

from contrib.models import Repository
from evaluation.models import Benchmark, Submission
from tests.conftest import load_payload
from tests.factories import BenchmarkFactory, RepositoryFactory
from tests.github_server.server import FakeGitHub, Json

REFERENCE = Path(__file__).resolve().parents[2] / "evaluation" / "engine" / "reference"
FULL_NAME = "Codertocat/Hello-World"  # the repository of GitHub's example payloads
REPO_ID = 186853002


class ModelRepoGitHub(FakeGitHub):
    """The shared fake plus what this suite reads of it."""

    # --- what tests read ------------------------------------------------------------------
    def statuses(self, sha: str) -> list[Json]:
        return [s for s in self.repos[FULL_NAME].statuses if s["sha"] == sha]

    def platform_comments(self) -> list[str]:
        return [
            c["body"]
            for c in self.repos[FULL_NAME].issue_comments.values()
            if "crucible:pull-request-comment" in c["body"]
        ]

    def replies(self) -> list[str]:
        return [
            c["body"]
            for c in self.repos[FULL_NAME].issue_comments.values()
            if "crucible:reply-to" in c["body"]
        ]


def configure_settings(settings: Any, fake: FakeGitHub) -> None:
    """As tests/github_server/fixtures.py's `github_server` does."""
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


@pytest.fixture
def fake_github(settings: Any) -> Iterator[ModelRepoGitHub]:
    cache.clear()  # the maintainer check is cached across tests otherwise
    fake = ModelRepoGitHub().start()
    configure_settings(settings, fake)
    fake.user("Codertocat", user_id=21031067)  # before the repository, which it owns
    fake.repo(FULL_NAME, repo_id=REPO_ID)
    fake.user("maintainer")
    fake.user("reader")
    fake.user("newcomer")
    fake.set_permission(FULL_NAME, "maintainer", "write")
    fake.set_permission(FULL_NAME, "reader", "read")
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def model_repo(db: None) -> Repository:
    return RepositoryFactory(
        full_name=FULL_NAME, github_id=REPO_ID, tracked=True, role=Repository.Role.MODEL
    )


@pytest.fixture
def demo(model_repo: Repository) -> Benchmark:
    """A one-seed demo-cpu benchmark on a tiny budget, submissions in `submissions/demo/`."""
    benchmark = BenchmarkFactory(
        slug="demo",
        name="Demo",
        engine_spec="demo-cpu",
        queue="cpu",
        seeds=1,
        byte_budget=4096,
        model_repository=model_repo,
        submission_path="submissions/demo",
    )
    return benchmark


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Submission ids sent to the evaluation queue (caught before the broker)."""
    from evaluation.services import transitions

    sent: list[int] = []
    monkeypatch.setattr(
        transitions, "evaluation_send", lambda submission_id, **kwargs: sent.append(submission_id)
    )
    return sent


def open_pull(
    fake: ModelRepoGitHub,
    *,
    user: str,
    sha: str,
    files: dict[str, str] | None = None,
) -> int:
    """A PR on the fake by `user` at `sha`, changing `files` (default: one submission folder)."""
    pull = fake.pull(FULL_NAME, user=user, head_sha=sha, title=f"{user}'s change")
    number = int(pull["number"])
    fake.set_pull_files(
        FULL_NAME,
        number,
        files
        or {
            "submissions/demo/wider/config.json": "added",
            "submissions/demo/wider/model.py": "added",
            "README.md": "modified",
        },
    )
    return number


def pull_request_payload(
    fake: ModelRepoGitHub, *, number: int, action: str = "opened", sha: str | None = None
) -> dict[str, Any]:
    """GitHub's example `pull_request.opened` payload, made to describe PR `number`."""
    payload = copy.deepcopy(load_payload("pull_request.opened"))
    pull = fake.repos[FULL_NAME].pulls[number]
    payload["action"] = action
    payload["number"] = number
    pr = payload["pull_request"]
    pr.update(number=number, id=pull["id"], title=pull["title"], user=pull["user"])
    pr["head"]["sha"] = sha or pull["head"]["sha"]
    return payload


def comment_payload(
    fake: ModelRepoGitHub, *, number: int, body: str, login: str, comment_id: int
) -> dict[str, Any]:
    payload = copy.deepcopy(load_payload("issue_comment.created"))
    payload["issue"]["number"] = number
    payload["comment"].update(id=comment_id, body=body)
    payload["comment"]["user"] = fake.user(login)
    return payload


def submission_files(config: dict[str, Any] | None = None) -> dict[str, bytes]:
    """A code submission: the reference model as `model.py` plus a config."""
    return {
        "README.md": b"# the model repository\n",
        "submissions/demo/wider/config.json": json.dumps(config or {}).encode(),
        "submissions/demo/wider/model.py": (REFERENCE / "model.py").read_bytes(),
        "submissions/demo/other/config.json": b"{}",
    }


def only(queryset: Any) -> Submission:
    items = list(queryset)
    assert len(items) == 1, items
    return items[0]
