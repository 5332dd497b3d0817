"""Backfill: a repository's history from GitHub's REST API into the mirrors and the ledger.

The ledger rows carry the same external ids as the webhook handlers' rows for the same facts
(`issue-opened:<id>`, `pr-merged:<id>`, `review:<id>`, `review-comment:<id>`,
`issue-comment:<id>`, `commit:<repo>:<sha>`), with source `sync`: webhook and backfill share one
key space, so neither order nor repetition counts anything twice.

A run walks five phases, each a list endpoint at 100 items a page, newest change first:
issues, pull requests (with each one's reviews), issue comments, review comments, commits. Newest
first matters for resuming: an item updated during the run moves to page one, which pushes the
others down (seen twice, harmless) and never up (skipped). After each page the cursor (phase,
next page) is saved in the same transaction as the page's rows, so an interrupted run resumes at
the page it stopped on. An incremental run asks only for what changed since the last complete
run started (`since`; pull requests have no `since` on GitHub, so that walk stops at the first
one older than it). Requests happen outside database transactions: each page is fetched (with
the reviews and commit details it needs), then written at once.
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from contrib.github.backfill_items import (
    Json,
    SyncRun,
    mirror_for,
    number_from_url,
    record_commit,
    record_issue,
    record_issue_comment,
    record_pull,
    record_review,
)
from contrib.github.client import Page, github_client, rate_limit_remaining
from contrib.github.facts import (
    commit_external_id,
)
from contrib.github.payloads import (
    parse_time,
)
from contrib.mirrors import (
    repository_get_or_create_from_github,
)
from contrib.models import (
    Contribution,
    PullRequest,
    Repository,
    RepositorySync,
)

PHASES = ("issues", "pulls", "issue_comments", "review_comments", "commits")
# GitHub's clock and ours differ a little: the next `since` starts this much earlier.
CLOCK_OVERLAP = timedelta(minutes=5)
# A run that saved no page for this long is taken for dead (killed worker) and may be resumed.
# Longer than a page can take: a hundred PRs' reviews plus a rate-limit wait (15 min default).
STALE_AFTER = timedelta(minutes=30)


class SyncAlreadyRunning(Exception):  # noqa: N818 - a state, reported as is
    """Another process is syncing this repository right now."""


@dataclass
class SyncProgress:
    """What a progress bar shows after each page."""

    phase: str
    page: int
    last_page: int | None
    items_done: int
    requests_made: int
    rate_limit_remaining: int | None
    elapsed_seconds: float

    @property
    def eta_seconds(self) -> float | None:
        """Time left in the current phase, from its pages so far (GitHub names the last page)."""
        if not self.last_page or self.page <= 0 or self.page >= self.last_page:
            return None if not self.last_page else 0.0
        return self.elapsed_seconds / self.page * (self.last_page - self.page)


ProgressCallback = Callable[[SyncProgress], None]


def _phase_issues(run: SyncRun, start: int) -> Iterator[tuple[Page, Callable[[], int]]]:
    params = {"state": "all", "sort": "updated", "direction": "desc", **run.since_param}
    for page in run.pages(f"{run.path}/issues", params, start):
        # Pull requests come in this list too; their own phase has their full objects.
        issues = [item for item in page.items if not item.get("pull_request")]

        def write(issues: list[Json] = issues) -> int:
            for issue in issues:
                record_issue(run, issue)
            return len(issues)

        yield page, write


def _phase_pulls(run: SyncRun, start: int) -> Iterator[tuple[Page, Callable[[], int]]]:
    params = {"state": "all", "sort": "updated", "direction": "desc"}
    for page in run.pages(f"{run.path}/pulls", params, start):
        pulls = [pr for pr in page.items if not run.older_than_since(pr.get("updated_at"))]
        reviews = {
            pr["number"]: [
                review
                for review_page in run.pages(f"{run.path}/pulls/{pr['number']}/reviews", {}, 1)
                for review in review_page.items
            ]
            for pr in pulls
        }
        if len(pulls) < len(page.items):
            page.has_next = False  # the rest changed before `since`: nothing new there

        def write(pulls: list[Json] = pulls, reviews: dict[int, list[Json]] = reviews) -> int:
            for pr in pulls:
                record_pull(run, pr, reviews[pr["number"]])
            return len(pulls) + sum(len(r) for r in reviews.values())

        yield page, write


def _phase_issue_comments(run: SyncRun, start: int) -> Iterator[tuple[Page, Callable[[], int]]]:
    params = {"sort": "updated", "direction": "desc", **run.since_param}
    for page in run.pages(f"{run.path}/issues/comments", params, start):

        def write(comments: list[Json] = page.items) -> int:
            for comment in comments:
                number = number_from_url(comment["issue_url"])
                is_pull = PullRequest.objects.filter(
                    repository=run.repository, number=number
                ).exists()
                record_issue_comment(run, comment, mirror_for(run, number, pull=is_pull))
            return len(comments)

        yield page, write


def _phase_review_comments(run: SyncRun, start: int) -> Iterator[tuple[Page, Callable[[], int]]]:
    params = {"sort": "updated", "direction": "desc", **run.since_param}
    for page in run.pages(f"{run.path}/pulls/comments", params, start):

        def write(comments: list[Json] = page.items) -> int:
            for comment in comments:
                number = number_from_url(comment["pull_request_url"])
                mirror = mirror_for(run, number, pull=True)
                assert isinstance(mirror, PullRequest)
                record_review(
                    run,
                    mirror,
                    item=comment,
                    external_id=f"review-comment:{comment['id']}",
                    occurred=parse_time(comment.get("created_at")),
                )
            return len(comments)

        yield page, write


def _phase_commits(run: SyncRun, start: int) -> Iterator[tuple[Page, Callable[[], int]]]:
    params = {"sha": run.repository.default_branch, **run.since_param}
    for page in run.pages(f"{run.path}/commits", params, start):
        known = set(
            Contribution.objects.filter(
                external_id__in=[commit_external_id(run.repository, c["sha"]) for c in page.items]
            ).values_list("external_id", flat=True)
        )
        # The list has no file names; a commit's detail does, and only new commits need it.
        new = [c for c in page.items if commit_external_id(run.repository, c["sha"]) not in known]
        files = {c["sha"]: run.get(f"{run.path}/commits/{c['sha']}").get("files") for c in new}
        listed = len(page.items)

        def write(new: list[Json] = new, files: Json = files, listed: int = listed) -> int:
            for commit in new:
                record_commit(run, commit, files[commit["sha"]] or [])
            return listed

        yield page, write


_PHASE_WALKERS = {
    "issues": _phase_issues,
    "pulls": _phase_pulls,
    "issue_comments": _phase_issue_comments,
    "review_comments": _phase_review_comments,
    "commits": _phase_commits,
}


def _cursor_after(phase: str, page: Page) -> dict[str, Any]:
    if page.has_next:
        return {"phase": phase, "page": page.number + 1}
    following = PHASES.index(phase) + 1
    return {"phase": PHASES[following] if following < len(PHASES) else "finished", "page": 1}


def repository_sync(
    *,
    repository: Repository,
    since: datetime | None = None,
    full: bool = False,
    restart: bool = False,
    progress: ProgressCallback | None = None,
) -> RepositorySync:
    """Backfill `repository` from GitHub; returns its sync record (state `done` on success).

    Without `since`, a run is incremental from the last complete run (`full` ignores that).
    An interrupted run with the same `since` resumes at its saved page (`restart` starts over).
    Errors (a rate limit too long to wait for, GitHub down) leave the cursor in place, mark the
    record failed with the error, and are raised.
    """
    RepositorySync.objects.get_or_create(repository=repository)
    with transaction.atomic():
        sync = RepositorySync.objects.select_for_update().get(repository=repository)
        if (
            sync.state == RepositorySync.State.RUNNING
            and sync.heartbeat_at is not None
            and timezone.now() - sync.heartbeat_at < STALE_AFTER
        ):
            raise SyncAlreadyRunning(
                f"a sync of {repository.full_name} is running (last progress "
                f"{sync.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC); if its process is gone, the next "
                f"run after {STALE_AFTER.total_seconds() / 60:.0f} minutes without progress "
                "resumes it"
            )
        resuming = (
            not restart
            and bool(sync.cursor)
            and sync.state in (RepositorySync.State.RUNNING, RepositorySync.State.FAILED)
            and (since is None or since == sync.run_since)
        )
        if not resuming:
            sync.run_started_at = timezone.now() - CLOCK_OVERLAP
            sync.run_since = since if since is not None else (None if full else sync.synced_until)
            sync.cursor = {"phase": PHASES[0], "page": 1}
            sync.requests_made = 0
            sync.items_done = 0
        sync.state = RepositorySync.State.RUNNING
        sync.heartbeat_at = timezone.now()
        sync.error = ""
        sync.save()

    gh = github_client(repository=repository)
    run = SyncRun(gh=gh, repository=repository, since=sync.run_since)
    try:
        # The repository itself first: its GitHub id is part of commit keys, as in webhooks.
        repo_json = run.get(run.path)
        repository = repository_get_or_create_from_github(repo=repo_json)
        if repo_json.get("default_branch") and repository.default_branch != repo_json.get(
            "default_branch"
        ):
            repository.default_branch = str(repo_json["default_branch"])
            repository.save(update_fields=["default_branch"])
        run.repository = repository
        resume_phase = sync.cursor.get("phase", PHASES[0])
        phase_index = PHASES.index(resume_phase) if resume_phase in PHASES else len(PHASES)
        for phase in PHASES[phase_index:]:
            start = int(sync.cursor.get("page", 1)) if phase == sync.cursor.get("phase") else 1
            phase_started = time.monotonic()
            for page, write in _PHASE_WALKERS[phase](run, start):
                with transaction.atomic():
                    done = write()
                    sync.items_done += done
                    sync.requests_made += run.requests
                    run.requests = 0
                    sync.cursor = _cursor_after(phase, page)
                    sync.heartbeat_at = timezone.now()
                    sync.save(
                        update_fields=["items_done", "requests_made", "cursor", "heartbeat_at"]
                    )
                if progress is not None:
                    progress(
                        SyncProgress(
                            phase=phase,
                            page=page.number - start + 1,
                            last_page=page.last_page - start + 1 if page.last_page else None,
                            items_done=sync.items_done,
                            requests_made=sync.requests_made,
                            rate_limit_remaining=rate_limit_remaining(gh),
                            elapsed_seconds=time.monotonic() - phase_started,
                        )
                    )
                if not page.has_next:
                    break
    except BaseException as exc:
        sync.requests_made += run.requests
        sync.state = RepositorySync.State.FAILED
        sync.error = f"{type(exc).__name__}: {exc}"
        sync.save(update_fields=["state", "error", "requests_made"])
        raise
    sync.requests_made += run.requests
    sync.state = RepositorySync.State.DONE
    sync.synced_until = sync.run_started_at
    sync.cursor = {}
    sync.finished_at = timezone.now()
    sync.save()
    return sync


def repositories_sync_queue(*, repository_ids: list[int] | None = None) -> int:
    """Queue the incremental sync of these repositories (every tracked one by default), one
    task each: the beat's and the admin's "Sync now" alike. How many were queued."""
    from contrib.tasks import sync_repository

    if repository_ids is None:
        repository_ids = list(Repository.objects.filter(tracked=True).values_list("pk", flat=True))
    for repository_id in repository_ids:
        sync_repository.delay(repository_id)
    return len(repository_ids)
