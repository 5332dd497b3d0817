"""One function per GitHub fact that becomes a ledger row.

The webhook handlers (`source=github`) and the history backfill (`source=sync`) both call these,
so the external id and the row of the same fact cannot drift apart between the two paths: that is
what keeps a fact seen both ways counted once.
"""

from datetime import datetime
from typing import Any

from django.utils import timezone

from contrib.ledger import contribution_record
from contrib.mirrors import item_record_response
from contrib.models import ContributionKind as Kind
from contrib.models import Contributor, Issue, PullRequest, Repository

Json = dict[str, Any]


def commit_external_id(repository: Repository, sha: str) -> str:
    return f"commit:{repository.github_id or repository.full_name}:{sha}"


def commit_record(
    *,
    repository: Repository,
    contributor: Contributor,
    sha: str,
    paths: list[str],
    docs_only: bool,
    occurred_at: datetime | None,
    message: str,
    url: str,
    ref: Any,
    source: str,
) -> None:
    """A commit: `code`, or `doc` when it only touches documentation paths."""
    contribution_record(
        contributor=contributor,
        repository=repository,
        kind=Kind.DOC if docs_only else Kind.CODE,
        occurred_at=occurred_at or timezone.now(),
        source=source,
        external_id=commit_external_id(repository, sha),
        title=message.splitlines()[0] if message else "",
        url=url,
        metadata={"sha": sha, "ref": ref, "paths": paths[:100]},
    )


def issue_opened_record(
    *,
    repository: Repository,
    mirror: Issue,
    author: Contributor,
    issue_id: Any,
    occurred_at: datetime | None,
    source: str,
) -> None:
    """An issue reported: `bug` for its author."""
    contribution_record(
        contributor=author,
        repository=repository,
        kind=Kind.BUG,
        occurred_at=occurred_at or timezone.now(),
        source=source,
        external_id=f"issue-opened:{issue_id}",
        title=mirror.title,
        url=mirror.html_url,
        metadata={"number": mirror.number, "labels": mirror.labels},
    )


def pull_request_merge_record(
    *,
    repository: Repository,
    mirror: PullRequest,
    author: Contributor,
    pr_id: Any,
    merged_at: datetime | None,
    source: str,
) -> None:
    """A merged pull request: `code` for its author."""
    contribution_record(
        contributor=author,
        repository=repository,
        kind=Kind.CODE,
        occurred_at=merged_at or timezone.now(),
        source=source,
        external_id=f"pr-merged:{pr_id}",
        title=mirror.title,
        url=mirror.html_url,
        metadata={"number": mirror.number, "labels": mirror.labels},
    )


def review_record(
    *,
    repository: Repository,
    mirror: PullRequest,
    reviewer: Contributor,
    item: Json,
    external_id: str,
    occurred_at: datetime | None,
    source: str,
) -> None:
    """A review or review comment: `review`, and maybe the PR's first response."""
    occurred_at = occurred_at or timezone.now()
    item_record_response(item=mirror, responder=reviewer, responded_at=occurred_at)
    contribution_record(
        contributor=reviewer,
        repository=repository,
        kind=Kind.REVIEW,
        occurred_at=occurred_at,
        source=source,
        external_id=external_id,
        title=f"Review of #{mirror.number}: {mirror.title}",
        url=str(item.get("html_url") or mirror.html_url),
        metadata={"number": mirror.number, "state": item.get("state")},
    )


def issue_comment_record(
    *,
    repository: Repository,
    mirror: Issue | PullRequest,
    commenter: Contributor,
    comment: Json,
    occurred_at: datetime | None,
    source: str,
) -> None:
    """A conversation comment: `discussion`, and maybe the issue's or PR's first response."""
    occurred_at = occurred_at or timezone.now()
    item_record_response(item=mirror, responder=commenter, responded_at=occurred_at)
    contribution_record(
        contributor=commenter,
        repository=repository,
        kind=Kind.DISCUSSION,
        occurred_at=occurred_at,
        source=source,
        external_id=f"issue-comment:{comment['id']}",
        title=f"Comment on #{mirror.number}: {mirror.title}",
        url=str(comment.get("html_url") or ""),
        metadata={"number": mirror.number, "pull_request": isinstance(mirror, PullRequest)},
    )
