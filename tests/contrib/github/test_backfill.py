"""Backfill through PyGithub against the fake GitHub: the same ledger as webhooks, once."""

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from github import GithubException

from contrib.github.backfill import repository_sync
from contrib.models import (
    Contribution,
    Contributor,
    Identity,
    Issue,
    PullRequest,
    Repository,
    RepositorySync,
)
from tests.factories import RepositoryFactory, RepositorySyncFactory
from tests.github_server.server import FakeGitHub
from tests.github_server.synthetic import build_repository, merge, webhook_deliveries

pytestmark = pytest.mark.django_db


def ledger() -> list[tuple[Any, ...]]:
    """The ledger as facts, whatever their source."""
    return sorted(
        (
            row.external_id,
            row.kind,
            row.contributor.login or row.contributor.name,
            row.occurred_at,
            row.title,
            row.url,
            tuple(sorted((k, str(v)) for k, v in row.metadata.items())),
        )
        for row in Contribution.objects.select_related("contributor")
    )


def mirrors() -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for model in (Issue, PullRequest):
        rows += [
            (model.__name__, m.number, m.state, m.title, m.author.login if m.author else None,
             m.labels, m.created_at, m.first_response_at, getattr(m, "merged_at", None))
            for m in model.objects.select_related("author")
        ]  # fmt: skip
    return sorted(rows, key=str)


def forget_everything() -> None:
    Contribution.objects.all().delete()
    Issue.objects.all().delete()
    PullRequest.objects.all().delete()
    Identity.objects.all().delete()
    Contributor.objects.all().delete()
    RepositorySync.objects.all().delete()


def sync(**kwargs: Any) -> RepositorySync:
    repository, _ = Repository.objects.get_or_create(full_name="acme/model")
    return repository_sync(repository=repository, **kwargs)


def test_backfill_yields_the_webhooks_ledger_row_for_row(
    github_server: FakeGitHub, post_delivery: Any
) -> None:
    build_repository(github_server)
    for event, payload in webhook_deliveries(github_server):
        assert post_delivery(event, payload).status_code == 202
    from_webhooks, webhook_mirrors = ledger(), mirrors()
    assert {kind for _id, kind, *_ in from_webhooks} >= {
        "bug",
        "code",
        "review",
        "discussion",
        "doc",
    }

    forget_everything()
    sync()
    assert ledger() == from_webhooks
    assert mirrors() == webhook_mirrors
    assert set(Contribution.objects.values_list("source", flat=True)) == {"sync"}


def test_backfill_after_webhooks_and_a_second_run_add_nothing(
    github_server: FakeGitHub, post_delivery: Any
) -> None:
    build_repository(github_server)
    for event, payload in webhook_deliveries(github_server):
        post_delivery(event, payload)
    before = ledger()
    count = Contribution.objects.count()
    sync(full=True)
    assert Contribution.objects.count() == count and ledger() == before
    assert not Contribution.objects.filter(source="sync").exists()
    sync(full=True)
    assert Contribution.objects.count() == count


def test_requests_are_the_pages_needed_and_none_twice(github_server: FakeGitHub) -> None:
    build_repository(github_server, issues=150, pulls=3, commits=2)
    record = sync()
    assert record.state == "done" and record.cursor == {}
    issue_pages = [r.query["page"] for r in github_server.gets("/repos/acme/model/issues")
                   if r.path.endswith("/issues")]  # fmt: skip
    assert issue_pages == ["1", "2"]  # 153 issues and PRs: two pages of 100
    paths = [(r.path, tuple(sorted(r.query.items()))) for r in github_server.gets()]
    assert len(paths) == len(set(paths))
    assert record.requests_made == len(github_server.gets())
    state = github_server.repos["acme/model"]

    def pages(count: int) -> int:
        return max(1, -(-count // 100))

    # the repository, one per list page, one per PR for its reviews, one per commit for files
    assert record.requests_made == (
        1
        + pages(len(state.issues))
        + pages(len(state.pulls))
        + len(state.pulls)
        + pages(len(state.issue_comments))
        + pages(len(state.review_comments))
        + pages(len(state.commits))
        + len(state.commits)
    )


def test_incremental_run_fetches_only_what_changed(github_server: FakeGitHub) -> None:
    build_repository(github_server, issues=30, pulls=30, commits=3)
    first = sync()
    rows = Contribution.objects.count()
    github_server.catch_up()
    github_server.requests.clear()
    fake = github_server
    fake.comment("acme/model", 1, user="zoe")
    new_pull = fake.pull("acme/model", user="zoe", title="Late change")
    fake.review("acme/model", new_pull["number"], user="alice")
    merge(fake, "acme/model", new_pull["number"])
    fake.commit("acme/model", name="Zoe", email="zoe@example.org", user="zoe")

    second = sync()
    assert second.synced_until is not None and first.synced_until is not None
    assert second.synced_until > first.synced_until
    added = sorted(
        Contribution.objects.order_by("id")[rows:].values_list("kind", "contributor__login")
    )
    assert added == [("code", "zoe"), ("code", "zoe"), ("discussion", "zoe"), ("review", "alice")]
    # repo, one page per list, reviews of the one changed PR, files of the one new commit
    assert second.requests_made == 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1
    pulls_request = github_server.gets("/repos/acme/model/pulls")[0]
    assert pulls_request.query["direction"] == "desc"
    assert "since" in github_server.gets("/repos/acme/model/issues")[0].query


def test_an_interrupted_run_resumes_where_it_stopped(
    github_server: FakeGitHub, settings: Any
) -> None:
    build_repository(github_server, issues=120, pulls=2, commits=2)
    for number in range(1, 80):
        github_server.comment("acme/model", number, user="bob")
        github_server.comment("acme/model", number, user="carol")
    settings.GITHUB_RETRIES = 1
    original = github_server.handle  # the second page of comments keeps failing

    def flaky(method: str, path: str, query: dict[str, str], body: Any) -> Any:
        if path.endswith("/issues/comments") and query.get("page") == "2" and flaky.fail:  # type: ignore[attr-defined]
            return 502, {"message": "Server Error"}, {}
        return original(method, path, query, body)

    flaky.fail = True  # type: ignore[attr-defined]
    github_server.handle = flaky  # type: ignore[method-assign]
    with pytest.raises(GithubException):
        sync()
    stopped = RepositorySync.objects.get()
    assert stopped.state == "failed" and stopped.cursor == {"phase": "issue_comments", "page": 2}
    print(stopped.error)
    assert "502" in stopped.error

    flaky.fail = False  # type: ignore[attr-defined]
    github_server.requests.clear()
    resumed = sync()
    assert resumed.state == "done"
    first_list = next(r for r in github_server.gets() if r.path != "/api/v3/repos/acme/model")
    assert first_list.path.endswith("/issues/comments") and first_list.query["page"] == "2"
    expected = ledger()
    forget_everything()
    sync()
    assert ledger() == expected  # nothing lost by stopping half-way


def test_sync_github_command_prints_progress(github_server: FakeGitHub) -> None:
    build_repository(github_server, issues=3, pulls=3, commits=1)
    out = StringIO()
    call_command("sync_github", "acme/model", "--since", "2000-01-01", stdout=out)
    text = out.getvalue()
    assert "issues" in text and "rate limit left" in text and "ETA" in text
    assert "items" in text and "requests" in text and "acme/model:" in text
    assert Contribution.objects.filter(source="sync").exists()
    with pytest.raises(CommandError, match="OWNER/REPO"):
        call_command("sync_github", "nonsense")


def test_rate_limit_too_long_stops_with_a_clear_error_and_resumes_later(
    github_server: FakeGitHub, settings: Any
) -> None:
    build_repository(github_server, issues=2, pulls=1, commits=1)
    github_server.rate_remaining = 0
    settings.GITHUB_MAX_RATE_LIMIT_WAIT = 1.0
    with pytest.raises(CommandError, match="rate limit"):
        call_command("sync_github", "acme/model", stdout=StringIO())
    assert RepositorySync.objects.get().state == "failed"
    github_server.rate_remaining = 5000
    call_command("sync_github", "acme/model", stdout=StringIO())
    assert RepositorySync.objects.get().state == "done"


def test_periodic_task_syncs_every_tracked_repository(github_server: FakeGitHub) -> None:
    from contrib.tasks import sync_tracked_repositories

    build_repository(github_server, issues=2, pulls=2, commits=1)
    github_server.repo("acme/other")
    RepositoryFactory(github_id=None, full_name="acme/model")
    RepositoryFactory(github_id=None, full_name="acme/other")
    RepositoryFactory(github_id=None, full_name="acme/ignored", tracked=False)
    assert sync_tracked_repositories.delay().get() == 2  # eager in tests
    assert set(RepositorySync.objects.values_list("repository__full_name", "state")) == {
        ("acme/model", "done"),
        ("acme/other", "done"),
    }


def test_a_second_sync_while_one_runs_is_refused_until_the_first_goes_stale(
    github_server: FakeGitHub,
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from contrib.github.backfill import SyncAlreadyRunning
    from contrib.tasks import sync_repository

    build_repository(github_server, issues=2, pulls=1, commits=1)
    repository = RepositoryFactory(github_id=None, full_name="acme/model")
    RepositorySyncFactory(
        repository=repository,
        state="running",
        heartbeat_at=timezone.now(),
        cursor={"phase": "commits", "page": 1},
    )
    with pytest.raises(SyncAlreadyRunning, match="is running"):
        sync()
    assert sync_repository.delay(repository.pk).get() == "running"
    RepositorySync.objects.update(heartbeat_at=timezone.now() - timedelta(minutes=31))
    assert sync().state == "done"  # the dead run's cursor is resumed
    assert not github_server.gets("/issues")  # it was at the last phase


def test_a_repository_with_issues_disabled_still_syncs(github_server: FakeGitHub) -> None:
    build_repository(github_server, issues=0, pulls=2, commits=1)
    github_server.repos["acme/model"].repo["has_issues"] = False
    assert sync().state == "done"
    assert PullRequest.objects.count() == 2 and not Issue.objects.exists()


def test_a_renamed_account_stays_one_contributor_and_commit_emails_become_identities(
    github_server: FakeGitHub, post_delivery: Any
) -> None:
    build_repository(github_server, issues=1, pulls=0, commits=0)
    state = github_server.repos["acme/model"]
    issue = state.issues[1]
    post_delivery("issues", {"action": "opened", "issue": issue, "repository": state.repo})
    old_login = issue["user"]["login"]
    account = github_server.users.pop(old_login)  # renamed on GitHub: same id, new login
    account["login"] = "renamed"
    github_server.users["renamed"] = account
    issue["user"] = dict(account)
    github_server.commit("acme/model", name="Renamed", email="renamed@example.org", user="renamed")
    sync()
    person = Contributor.objects.get(github_id=account["id"])
    assert person.login == "renamed"
    assert Contributor.objects.filter(login__in=[old_login, "renamed"]).count() == 1
    assert person.contributions.count() == 2  # the issue (webhook) and the commit (backfill)
    assert Identity.objects.get(email="renamed@example.org").contributor == person
