"""One function per GitHub event: map a delivery to ledger rows and mirrors.

Handlers are written for GitHub's real payloads, which omit optional fields freely: every field
that is not guaranteed is read with `.get`. External ids are built from GitHub's own ids, so a
redelivered or backfilled event lands on the same ledger key and adds nothing.
"""

from datetime import datetime

from django.utils import timezone

from contrib.contributors import (
    contributor_get_or_create_from_github,
    contributor_resolve_commit_author,
)
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
    tracked_repository,
)
from contrib.github.registry import RECORD, DeliveryIgnored, Payload, register
from contrib.ledger import contribution_record
from contrib.mirrors import (
    issue_mirror_upsert,
    pull_request_mirror_upsert,
    repositories_set_tracked,
)
from contrib.models import ContributionKind as Kind
from contrib.models import ContributionSource
from contrib.sponsorships import sponsorship_apply_event

SOURCE = ContributionSource.GITHUB


@register("push", order=RECORD)
def handle_push(payload: Payload) -> None:
    """One `code` row per commit by its author; commits that only touch docs are `doc`."""
    repository = tracked_repository(payload)
    patterns = repository.docs_paths or DEFAULT_DOCS_PATHS
    for commit in payload.get("commits") or []:
        author = commit.get("author") or {}
        contributor = contributor_resolve_commit_author(
            name=str(author.get("name") or ""),
            email=str(author.get("email") or ""),
            username=str(author.get("username") or ""),
        )
        paths = [
            *(commit.get("added") or []),
            *(commit.get("modified") or []),
            *(commit.get("removed") or []),
        ]
        commit_record(
            repository=repository,
            contributor=contributor,
            sha=commit["id"],
            paths=paths,
            docs_only=is_docs_only(paths, patterns),
            occurred_at=parse_time(commit.get("timestamp")),
            message=str(commit.get("message") or ""),
            url=str(commit.get("url") or ""),
            ref=payload.get("ref"),
            source=SOURCE,
        )


@register("pull_request", order=RECORD)
def handle_pull_request(payload: Payload) -> None:
    """Mirror the PR; a merge is a `code` contribution by the PR's author."""
    repository = tracked_repository(payload)
    pr = payload["pull_request"]
    mirror = pull_request_mirror_upsert(
        repository=repository, number=int(pr["number"]), fields=pull_request_fields(pr)
    )
    if payload.get("action") == "closed" and pr.get("merged"):
        pull_request_merge_record(
            repository=repository,
            mirror=mirror,
            author=contributor_get_or_create_from_github(user=pr.get("user")),
            pr_id=pr["id"],
            merged_at=parse_time(pr.get("merged_at")),
            source=SOURCE,
        )


def _record_review(
    payload: Payload, *, item: Payload, external_id: str, occurred: datetime | None
) -> None:
    repository = tracked_repository(payload)
    pr = payload["pull_request"]
    reviewer = contributor_get_or_create_from_github(user=item.get("user"))
    # A review can arrive before the PR it belongs to: the PR object inside it seeds the mirror.
    mirror = pull_request_mirror_upsert(
        repository=repository, number=int(pr["number"]), fields=pull_request_fields(pr)
    )
    review_record(
        repository=repository,
        mirror=mirror,
        reviewer=reviewer,
        item=item,
        external_id=external_id,
        occurred_at=occurred,
        source=SOURCE,
    )


@register("pull_request_review", order=RECORD)
def handle_pull_request_review(payload: Payload) -> None:
    """A submitted review is a `review` contribution and may be the PR's first response."""
    if payload.get("action") != "submitted":
        raise DeliveryIgnored(f"review action {payload.get('action')!r} adds no contribution")
    review = payload["review"]
    _record_review(
        payload,
        item=review,
        external_id=f"review:{review['id']}",
        occurred=parse_time(review.get("submitted_at")),
    )


@register("pull_request_review_comment", order=RECORD)
def handle_pull_request_review_comment(payload: Payload) -> None:
    """A review comment is a `review` contribution and may be the PR's first response."""
    if payload.get("action") != "created":
        raise DeliveryIgnored(f"review comment action {payload.get('action')!r} changes nothing")
    comment = payload["comment"]
    _record_review(
        payload,
        item=comment,
        external_id=f"review-comment:{comment['id']}",
        occurred=parse_time(comment.get("created_at")),
    )


@register("issues", order=RECORD)
def handle_issues(payload: Payload) -> None:
    """Mirror the issue; opening one is a `bug` contribution by its author."""
    repository = tracked_repository(payload)
    issue = payload["issue"]
    fields = item_fields(issue)
    if payload.get("action") == "deleted":
        fields["state"] = "deleted"
    mirror = issue_mirror_upsert(repository=repository, number=int(issue["number"]), fields=fields)
    if payload.get("action") == "opened":
        issue_opened_record(
            repository=repository,
            mirror=mirror,
            author=fields["author"],
            issue_id=issue["id"],
            occurred_at=fields["created_at"],
            source=SOURCE,
        )


@register("issue_comment", order=RECORD)
def handle_issue_comment(payload: Payload) -> None:
    """A comment is a `discussion` contribution and may be the issue's or PR's first response."""
    if payload.get("action") != "created":
        raise DeliveryIgnored(f"comment action {payload.get('action')!r} changes nothing")
    repository = tracked_repository(payload)
    issue, comment = payload["issue"], payload["comment"]
    fields = item_fields(issue)
    number = int(issue["number"])
    # GitHub sends PR conversation comments as issue comments on the PR.
    mirror = (
        pull_request_mirror_upsert(repository=repository, number=number, fields=fields)
        if issue.get("pull_request")
        else issue_mirror_upsert(repository=repository, number=number, fields=fields)
    )
    issue_comment_record(
        repository=repository,
        mirror=mirror,
        commenter=contributor_get_or_create_from_github(user=comment.get("user")),
        comment=comment,
        occurred_at=parse_time(comment.get("created_at")),
        source=SOURCE,
    )


@register("discussion", order=RECORD)
def handle_discussion(payload: Payload) -> None:
    """A new discussion is a `question` (Q&A categories) or `discussion`; an accepted answer
    credits the answer's author."""
    repository = tracked_repository(payload)
    discussion = payload["discussion"]
    action = payload.get("action")
    if action == "created":
        answerable = bool((discussion.get("category") or {}).get("is_answerable"))
        contribution_record(
            contributor=contributor_get_or_create_from_github(user=discussion.get("user")),
            repository=repository,
            kind=Kind.QUESTION if answerable else Kind.DISCUSSION,
            occurred_at=parse_time(discussion.get("created_at")) or timezone.now(),
            source=SOURCE,
            external_id=f"discussion:{discussion['id']}",
            title=str(discussion.get("title") or ""),
            url=str(discussion.get("html_url") or ""),
            metadata={"number": discussion.get("number")},
        )
    elif action == "answered" and payload.get("answer"):
        answer = payload["answer"]
        contribution_record(
            contributor=contributor_get_or_create_from_github(user=answer.get("user")),
            repository=repository,
            kind=Kind.DISCUSSION,
            occurred_at=parse_time(discussion.get("answer_chosen_at"))
            or parse_time(answer.get("created_at"))
            or timezone.now(),
            source=SOURCE,
            external_id=f"discussion-answer:{answer['id']}",
            title=f"Answered: {discussion.get('title') or ''}",
            url=str(answer.get("html_url") or ""),
            metadata={"number": discussion.get("number"), "answer": True},
        )
    else:
        raise DeliveryIgnored(f"discussion action {action!r} adds no contribution")


@register("discussion_comment", order=RECORD)
def handle_discussion_comment(payload: Payload) -> None:
    """A reply in a discussion is a `discussion` contribution."""
    if payload.get("action") != "created":
        raise DeliveryIgnored(f"comment action {payload.get('action')!r} changes nothing")
    repository = tracked_repository(payload)
    comment, discussion = payload["comment"], payload.get("discussion") or {}
    contribution_record(
        contributor=contributor_get_or_create_from_github(user=comment.get("user")),
        repository=repository,
        kind=Kind.DISCUSSION,
        occurred_at=parse_time(comment.get("created_at")) or timezone.now(),
        source=SOURCE,
        external_id=f"discussion-comment:{comment['id']}",
        title=f"Reply in: {discussion.get('title') or ''}",
        url=str(comment.get("html_url") or ""),
        metadata={"number": discussion.get("number")},
    )


@register("gollum", order=RECORD)
def handle_gollum(payload: Payload) -> None:
    """Each wiki page created or edited is a `doc` contribution by the sender."""
    repository = tracked_repository(payload)
    editor = contributor_get_or_create_from_github(user=payload.get("sender"))
    for page in payload.get("pages") or []:
        contribution_record(
            contributor=editor,
            repository=repository,
            kind=Kind.DOC,
            occurred_at=timezone.now(),  # GitHub sends no time for wiki edits
            source=SOURCE,
            external_id=f"wiki:{repository.github_id or repository.full_name}:"
            f"{page.get('page_name')}:{page.get('sha')}",
            title=f"Wiki {page.get('action', 'edited')}: {page.get('title') or ''}",
            url=str(page.get("html_url") or ""),
            metadata={"page": page.get("page_name"), "action": page.get("action")},
        )


@register("release", order=RECORD)
def handle_release(payload: Payload) -> None:
    """Publishing a release is a `maintenance` contribution by its author."""
    action = payload.get("action")
    if action not in ("published", "released", "created", "prereleased"):
        raise DeliveryIgnored(f"release action {action!r} adds no contribution")
    repository = tracked_repository(payload)
    release = payload["release"]
    if release.get("draft"):
        raise DeliveryIgnored("draft releases are not contributions yet")
    contribution_record(
        contributor=contributor_get_or_create_from_github(user=release.get("author")),
        repository=repository,
        kind=Kind.MAINTENANCE,
        occurred_at=parse_time(release.get("published_at"))
        or parse_time(release.get("created_at"))
        or timezone.now(),
        source=SOURCE,
        external_id=f"release:{release['id']}",
        title=f"Release {release.get('name') or release.get('tag_name') or ''}",
        url=str(release.get("html_url") or ""),
        metadata={"tag": release.get("tag_name"), "prerelease": bool(release.get("prerelease"))},
    )


@register("sponsorship", order=RECORD)
def handle_sponsorship(payload: Payload) -> None:
    """Keep the sponsorship current (tier, state, pending changes with their effective date);
    a new public sponsorship is a `sponsorship` contribution of the sponsor. Private sponsors
    get no ledger row, since the ledger is public."""
    sponsorship_apply_event(
        action=str(payload.get("action") or ""),
        sponsorship=payload["sponsorship"],
        effective_date=parse_time(payload.get("effective_date")),
    )


@register("installation", order=RECORD)
def handle_installation(payload: Payload) -> None:
    """Installing the GitHub App tracks its repositories; removing or suspending it untracks."""
    installation_id = (payload.get("installation") or {}).get("id")
    action = payload.get("action")
    repos = payload.get("repositories") or []
    if action in ("created", "new_permissions_accepted", "unsuspend"):
        repositories_set_tracked(repos=repos, tracked=True, installation_id=installation_id)
    elif action in ("deleted", "suspend"):
        repositories_set_tracked(repos=repos, tracked=False, installation_id=installation_id)
    else:
        raise DeliveryIgnored(f"installation action {action!r} changes nothing")


@register("installation_repositories", order=RECORD)
def handle_installation_repositories(payload: Payload) -> None:
    """Repositories added to or removed from the App's installation are tracked or untracked."""
    installation_id = (payload.get("installation") or {}).get("id")
    repositories_set_tracked(
        repos=payload.get("repositories_added") or [],
        tracked=True,
        installation_id=installation_id,
    )
    repositories_set_tracked(
        repos=payload.get("repositories_removed") or [],
        tracked=False,
        installation_id=installation_id,
    )
