"""`@crucible please add @login for …`: parsed, permission-checked, recorded, replied to."""

import copy
from typing import Any

import pytest
from django.core.cache import cache

from contrib.github.bot import parse_command, parse_kinds
from contrib.models import BotCommand, Contribution
from tests.conftest import load_payload
from tests.factories import RepositoryFactory
from tests.github_server.server import FakeGitHub

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_permission_cache() -> None:
    cache.clear()


@pytest.fixture
def hello_world(github_server: FakeGitHub) -> FakeGitHub:
    """The repository of GitHub's example payloads, with a maintainer and a reader."""
    payload = load_payload("issue_comment.created")
    full_name = payload["repository"]["full_name"]
    github_server.repo(full_name, repo_id=payload["repository"]["id"])
    github_server.issue(full_name, user="Codertocat")  # issue #1, as in the payload
    github_server.user("Codertocat", user_id=21031067)
    github_server.user("maintainer")
    github_server.user("reader")
    github_server.user("ada", user_id=777)
    github_server.set_permission(full_name, "maintainer", "write")
    github_server.set_permission(full_name, "reader", "read")
    return github_server


def comment_payload(body: str, *, login: str = "maintainer", comment_id: int = 5001, **user: Any):  # type: ignore[no-untyped-def]
    payload = copy.deepcopy(load_payload("issue_comment.created"))
    payload["comment"].update(id=comment_id, body=body)
    payload["comment"]["user"] = {"login": login, "id": 90000 + len(login), "type": "User", **user}
    return payload


def replies(fake: FakeGitHub) -> list[str]:
    state = next(iter(s for name, s in fake.repos.items() if name.endswith("Hello-World")))
    return [c["body"] for c in state.issue_comments.values() if "crucible:reply-to" in c["body"]]


def manual_rows() -> list[tuple[str, str, str]]:
    return sorted(
        Contribution.objects.filter(source="manual").values_list(
            "contributor__login", "kind", "metadata__as_written"
        )
    )


def test_grammar_and_aliases() -> None:
    command = parse_command("@crucible please add @ada for docs, testing and design")
    assert command is not None and command.login == "ada"
    assert command.kinds == [("doc", "docs"), ("test", "testing"), ("ideas", "design")]
    assert parse_command("@Crucible add ada for code.") is not None  # "please" is optional
    assert parse_command("please add @ada for code") is None
    assert parse_kinds("infrastructure, User Testing & talks") == (
        [("infra", "infrastructure"), ("test", "User Testing"), ("doc", "talks")],
        [],
    )
    assert parse_kinds("code, juggling") == ([("code", "code")], ["juggling"])


def test_a_maintainer_adds_contributions_and_the_bot_replies_once(
    hello_world: FakeGitHub, post_delivery: Any
) -> None:
    payload = comment_payload("Great call!\n@crucible please add @ada for ideas, mentoring")
    post_delivery("issue_comment", payload)
    assert manual_rows() == [("ada", "ideas", "ideas"), ("ada", "mentoring", "mentoring")]
    row = Contribution.objects.get(kind="ideas")
    assert row.contributor.github_id == 777 and row.metadata["added_by"] == "maintainer"
    # the comment itself is still a discussion contribution, recorded by the other handler
    assert Contribution.objects.filter(source="github", kind="discussion").count() == 1
    assert len(replies(hello_world)) == 1
    assert "Added @ada for `ideas`, `mentoring`" in replies(hello_world)[0]

    post_delivery("issue_comment", payload)  # GitHub redelivers: nothing twice
    assert len(manual_rows()) == 2 and len(replies(hello_world)) == 1
    assert BotCommand.objects.get().state == "done"


def test_permission_is_asked_of_github_and_cached(
    hello_world: FakeGitHub, post_delivery: Any
) -> None:
    post_delivery("issue_comment", comment_payload("@crucible add @ada for code", comment_id=1))
    post_delivery("issue_comment", comment_payload("@crucible add @ada for doc", comment_id=2))
    asked = hello_world.gets("/collaborators/maintainer/permission")
    assert len(asked) == 1
    assert len(manual_rows()) == 2


def test_not_a_maintainer_is_told_so(hello_world: FakeGitHub, post_delivery: Any) -> None:
    post_delivery(
        "issue_comment", comment_payload("@crucible please add @ada for code", login="reader")
    )
    assert manual_rows() == []
    assert BotCommand.objects.get().state == "rejected"
    (reply,) = replies(hello_world)
    assert "only maintainers" in reply and "@reader" in reply


def test_unknown_kind_lists_the_valid_kinds(hello_world: FakeGitHub, post_delivery: Any) -> None:
    post_delivery("issue_comment", comment_payload("@crucible please add @ada for juggling"))
    (reply,) = replies(hello_world)
    assert "`juggling`" in reply and "`doc`" in reply and "`mentoring`" in reply
    assert manual_rows() == []


def test_unknown_user_is_reported(hello_world: FakeGitHub, post_delivery: Any) -> None:
    post_delivery("issue_comment", comment_payload("@crucible please add @nobody-here for code"))
    (reply,) = replies(hello_world)
    assert "no GitHub user @nobody-here" in reply


@pytest.mark.parametrize(
    ("login", "user", "body"),
    [
        ("crucible[bot]", {"type": "Bot"}, "@crucible please add @ada for code"),
        ("renovate[bot]", {}, "@crucible please add @ada for code"),
        ("maintainer", {}, "<!-- crucible:reply-to:1 -->\n@crucible please add @ada for code"),
        ("maintainer", {}, "Use:\n```\n@crucible please add @ada for code\n```"),
        ("maintainer", {}, "> @crucible please add @ada for code\nquoted, not said"),
        ("maintainer", {}, "@crucible evaluate"),  # the evaluation pipeline's, not handled here
    ],
)
def test_ignored_comments(
    hello_world: FakeGitHub, post_delivery: Any, login: str, user: dict[str, str], body: str
) -> None:
    post_delivery("issue_comment", comment_payload(body, login=login, **user))
    assert BotCommand.objects.count() == 0 and replies(hello_world) == []


def test_untracked_repository_runs_no_commands(hello_world: FakeGitHub, post_delivery: Any) -> None:
    payload = comment_payload("@crucible please add @ada for code")
    RepositoryFactory(
        full_name=payload["repository"]["full_name"],
        github_id=payload["repository"]["id"],
        tracked=False,
    )
    post_delivery("issue_comment", payload)
    assert BotCommand.objects.count() == 0 and manual_rows() == []


def test_commands_whose_message_was_lost_are_run_by_the_periodic_requeue(
    hello_world: FakeGitHub,
    post_delivery: Any,
    monkeypatch: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """A worker killed while holding `run_bot_commands`: the commands stay pending until the
    beat's requeue runs them (and replies once)."""
    from datetime import timedelta

    from django.utils import timezone

    from contrib.github import bot

    monkeypatch.setattr(bot.run_bot_commands, "delay", lambda comment_id: None)  # the lost one
    post_delivery("issue_comment", comment_payload("@crucible please add @ada for ideas"))
    assert BotCommand.objects.get().state == "pending" and not replies(hello_world)
    monkeypatch.undo()
    assert bot.bot_commands_requeue_stale() == 0  # not stale yet
    BotCommand.objects.update(created_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):  # the reply's send
        assert bot.bot_commands_requeue_stale() == 1
    assert BotCommand.objects.get().state == "done" and len(replies(hello_world)) == 1
    assert bot.bot_commands_requeue_stale() == 0
