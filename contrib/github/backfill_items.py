"""What each backfilled item becomes: one sync's requests (:class:`SyncRun`) and the ledger rows
and mirrors of issues, pull requests, reviews, comments and commits, through the same facts
(`contrib.github.facts`) as the webhook handlers."""

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from github import Github, GithubException

from contrib.contributors import (
    NOREPLY_EMAIL,
    contributor_get_or_create_from_github,
    contributor_resolve_commit_author,
    identity_record,
)
from contrib.github.client import Page, get_json, iter_pages
from contrib.github.facts import (
    commit_record,
    issue_comment_record,
    issue_opened_record,
    pull_request_merge_record,
    review_record,
)
from contrib.github.payloads import (
    DEFAULT_DOCS_PATHS,
    is_docs_only,
    item_fields,
    parse_time,
    pull_request_fields,
)
from contrib.mirrors import (
    issue_mirror_upsert,
    pull_request_mirror_upsert,
)
from contrib.models import (
    ContributionSource,
    Issue,
    PullRequest,
    Repository,
)

SOURCE = ContributionSource.SYNC
Json = dict[str, Any]


class SyncRun:
    """One sync of one repository: its client, its `since`, the requests it made."""

    def __init__(self, *, gh: Github, repository: Repository, since: datetime | None) -> None:
        self.gh = gh
        self.repository = repository
        self.since = since
        self.path = f"/repos/{repository.full_name}"
        self.requests = 0

    @property
    def since_param(self) -> dict[str, str]:
        if self.since is None:
            return {}
        return {"since": self.since.strftime("%Y-%m-%dT%H:%M:%SZ")}

    def pages(self, path: str, params: dict[str, Any], start: int) -> Iterator[Page]:
        try:
            for page in iter_pages(self.gh, path, params=params, start_page=start):
                self.requests += 1
                yield page
        except GithubException as exc:
            if exc.status != 410:
                raise
            # 410 Gone: the feature is switched off (issues disabled): nothing to sync there.
            self.requests += 1
            yield Page(number=start, items=[], has_next=False, last_page=start)

    def get(self, path: str) -> Any:
        self.requests += 1
        return get_json(self.gh, path)

    def older_than_since(self, value: Any) -> bool:
        moment = parse_time(value)
        return self.since is not None and moment is not None and moment < self.since


def number_from_url(url: str) -> int:
    return int(str(url).rstrip("/").rsplit("/", 1)[1])


# --- the rows, the same as the webhook handlers write ---------------------------------------


def record_issue(run: SyncRun, issue: Json) -> None:
    fields = item_fields(issue)
    mirror = issue_mirror_upsert(
        repository=run.repository, number=int(issue["number"]), fields=fields
    )
    issue_opened_record(
        repository=run.repository,
        mirror=mirror,
        author=fields["author"],
        issue_id=issue["id"],
        occurred_at=fields["created_at"],
        source=SOURCE,
    )


def record_pull(run: SyncRun, pr: Json, reviews: list[Json]) -> None:
    mirror = pull_request_mirror_upsert(
        repository=run.repository, number=int(pr["number"]), fields=pull_request_fields(pr)
    )
    if pr.get("merged_at"):
        pull_request_merge_record(
            repository=run.repository,
            mirror=mirror,
            author=contributor_get_or_create_from_github(user=pr.get("user")),
            pr_id=pr["id"],
            merged_at=parse_time(pr.get("merged_at")),
            source=SOURCE,
        )
    for review in reviews:
        if not review.get("submitted_at") or review.get("state") == "PENDING":
            continue  # a draft review nobody else can see yet
        record_review(
            run,
            mirror,
            item=review,
            external_id=f"review:{review['id']}",
            occurred=parse_time(review.get("submitted_at")),
        )


def record_review(
    run: SyncRun, mirror: PullRequest, *, item: Json, external_id: str, occurred: datetime | None
) -> None:
    review_record(
        repository=run.repository,
        mirror=mirror,
        reviewer=contributor_get_or_create_from_github(user=item.get("user")),
        item=item,
        external_id=external_id,
        occurred_at=occurred,
        source=SOURCE,
    )


def record_issue_comment(run: SyncRun, comment: Json, mirror: Issue | PullRequest) -> None:
    issue_comment_record(
        repository=run.repository,
        mirror=mirror,
        commenter=contributor_get_or_create_from_github(user=comment.get("user")),
        comment=comment,
        occurred_at=parse_time(comment.get("created_at")),
        source=SOURCE,
    )


def record_commit(run: SyncRun, commit: Json, files: list[Json]) -> None:
    """As `handle_push` records a pushed commit: `doc` when it only touches docs paths."""
    git = commit.get("commit") or {}
    author = git.get("author") or {}
    name, email = str(author.get("name") or ""), str(author.get("email") or "").strip().lower()
    account = commit.get("author")
    if isinstance(account, dict) and account.get("id"):
        # GitHub matched the email to an account: key the person by id, remember the email.
        contributor = contributor_get_or_create_from_github(user=account)
        if email and not NOREPLY_EMAIL.match(email):
            identity_record(contributor=contributor, source="git", email=email)
    else:
        contributor = contributor_resolve_commit_author(name=name, email=email)
    paths = [str(f.get("filename")) for f in files if f.get("filename")]
    patterns = run.repository.docs_paths or DEFAULT_DOCS_PATHS
    commit_record(
        repository=run.repository,
        contributor=contributor,
        sha=str(commit["sha"]),
        paths=paths,
        docs_only=is_docs_only(paths, patterns),
        occurred_at=parse_time(author.get("date")),
        message=str(git.get("message") or ""),
        url=str(commit.get("html_url") or ""),
        ref=f"refs/heads/{run.repository.default_branch}",
        source=SOURCE,
    )


def mirror_for(run: SyncRun, number: int, *, pull: bool) -> Issue | PullRequest:
    """The mirror a comment belongs to; phases one and two made it, unless it changed since."""
    found: Issue | PullRequest | None = (
        PullRequest.objects.filter(repository=run.repository, number=number).first()
        if pull
        else Issue.objects.filter(repository=run.repository, number=number).first()
    )
    if found is not None:
        return found
    if pull:
        pr = run.get(f"{run.path}/pulls/{number}")
        return pull_request_mirror_upsert(
            repository=run.repository, number=number, fields=pull_request_fields(pr)
        )
    issue = run.get(f"{run.path}/issues/{number}")
    if issue.get("pull_request"):
        return mirror_for(run, number, pull=True)
    return issue_mirror_upsert(repository=run.repository, number=number, fields=item_fields(issue))


# --- the phases: fetch a page and all it needs, then write it ---------------------------------
