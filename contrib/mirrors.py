"""Repositories and the mirrors of their issues and pull requests. Writes and reads."""

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.db.models import Q

from contrib.models import (
    Bounty,
    Contributor,
    Issue,
    PullRequest,
    Repository,
)


def repository_get_or_create_from_github(*, repo: Mapping[str, Any]) -> Repository:
    """The repository of a payload, created as tracked the first time it sends us an event."""
    full_name = str(repo["full_name"])
    github_id = repo.get("id")
    for _attempt in range(3):
        found = Repository.objects.filter(
            Q(github_id=github_id) | Q(full_name__iexact=full_name)
            if github_id
            else Q(full_name__iexact=full_name)
        ).first()
        if found is not None:
            updates: dict[str, Any] = {}
            if github_id and found.github_id != github_id:
                updates["github_id"] = github_id
            if found.full_name != full_name and github_id and found.github_id == github_id:
                updates["full_name"] = full_name  # renamed or transferred
            if updates:
                Repository.objects.filter(pk=found.pk).update(**updates)
                found.refresh_from_db()
            return found
        try:
            with transaction.atomic():
                return Repository.objects.create(
                    full_name=full_name,
                    github_id=github_id,
                    default_branch=str(repo.get("default_branch") or "main"),
                )
        except IntegrityError:
            continue
    raise IntegrityError(f"could not create repository {full_name}")


def repositories_set_tracked(
    *, repos: Iterable[Mapping[str, Any]], tracked: bool, installation_id: int | None = None
) -> list[Repository]:
    """Start or stop tracking repositories (GitHub App installations, the admin)."""
    result = []
    with transaction.atomic():
        for repo in repos:
            repository = repository_get_or_create_from_github(repo=repo)
            repository.tracked = tracked
            if installation_id is not None:
                repository.installation_id = installation_id if tracked else None
            repository.save(update_fields=["tracked", "installation_id"])
            result.append(repository)
    return result


MirrorModel = TypeVar("MirrorModel", Issue, PullRequest)


def _mirror_upsert(
    model: type[MirrorModel],
    *,
    repository: Repository,
    number: int,
    fields: dict[str, Any],
) -> MirrorModel:
    """Create or update a mirror; an event older than what we hold does not roll it back."""
    incoming_updated = fields.get("updated_at")
    for _attempt in range(3):
        with transaction.atomic():
            item = (
                model.objects.select_for_update()
                .filter(repository=repository, number=number)
                .first()
            )
            if item is not None:
                stale = (
                    incoming_updated is not None
                    and item.updated_at is not None
                    and incoming_updated < item.updated_at
                )
                if not stale:
                    for key, value in fields.items():
                        setattr(item, key, value)
                    item.save()
                return item
        try:
            with transaction.atomic():
                return model.objects.create(repository=repository, number=number, **fields)
        except IntegrityError:
            continue
    raise IntegrityError(f"could not mirror {repository}#{number}")


def issue_mirror_upsert(*, repository: Repository, number: int, fields: dict[str, Any]) -> Issue:
    """Create or refresh the mirror of an issue from GitHub data."""
    return _mirror_upsert(Issue, repository=repository, number=number, fields=fields)


def pull_request_mirror_upsert(
    *, repository: Repository, number: int, fields: dict[str, Any]
) -> PullRequest:
    """Create or refresh the mirror of a pull request from GitHub data."""
    return _mirror_upsert(PullRequest, repository=repository, number=number, fields=fields)


def item_record_response(
    *, item: Issue | PullRequest, responder: Contributor, responded_at: datetime
) -> bool:
    """Note a comment or review on an issue/PR; the earliest one by another human is its first
    response. Returns whether the first response time changed."""
    if responder.is_bot or (item.author_id is not None and responder.pk == item.author_id):
        return False
    updated = (
        type(item)
        .objects.filter(pk=item.pk)
        .filter(Q(first_response_at__isnull=True) | Q(first_response_at__gt=responded_at))
        .update(first_response_at=responded_at, first_responder=responder)
    )
    return bool(updated)


def issues_open_count() -> int:
    return Issue.objects.filter(state="open").count()


GOOD_FIRST_LABELS = ("good first issue", "good-first-issue", "help wanted")


def issues_for_newcomers(*, limit: int = 30) -> dict[str, Any]:
    """Open issues a newcomer can pick up, open bounties, and issues nobody answered yet."""
    open_issues = Issue.objects.filter(state="open").select_related("repository", "author")
    labelled = Q()
    for label in GOOD_FIRST_LABELS:
        labelled |= Q(labels__icontains=label)
    return {
        "good_first": list(open_issues.filter(labelled).order_by("-created_at")[:limit]),
        "bounties": list(
            Bounty.objects.filter(state=Bounty.State.OPEN)
            .select_related("issue", "issue__repository")
            .order_by("-amount_minor")[:limit]
        ),
        "unanswered": list(
            open_issues.filter(first_response_at__isnull=True).order_by("created_at")[:limit]
        ),
    }
