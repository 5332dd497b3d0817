"""Business actions on contributors, repositories, mirrors and the ledger.

Every caller (webhook handlers, admin, API, management commands) goes through these functions;
each writes inside `transaction.atomic` and is safe to run twice.
"""

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from contrib.models import (
    GITHUB_SOURCES,
    Award,
    Contribution,
    ContributionKind,
    ContributionSource,
    ContributionTally,
    Contributor,
    ContributorMerge,
    Identity,
    Issue,
    PullRequest,
    Repository,
    Sponsorship,
)
from contrib.skills import areas_mask

# GitHub shows deleted accounts as this user; their history stays attributed to it.
GHOST_GITHUB_ID = 10137
GHOST_LOGIN = "ghost"
NOREPLY_EMAIL = re.compile(r"^(?:(?P<id>\d+)\+)?(?P<login>[^@+]+)@users\.noreply\.github\.com$")

GitHubUser = Mapping[str, Any]


def _canonical(contributor: Contributor) -> Contributor:
    """Follow `merged_into` so that new rows never land on a merged-away record."""
    seen = set()
    while contributor.merged_into_id is not None and contributor.pk not in seen:
        seen.add(contributor.pk)
        contributor = Contributor.objects.get(pk=contributor.merged_into_id)
    return contributor


def _is_bot(*, login: str, user_type: str | None) -> bool:
    return user_type == "Bot" or login.lower().endswith("[bot]")


def contributor_get_or_create_from_github(*, user: GitHubUser | None) -> Contributor:
    """The contributor for a GitHub user object; `None` (a deleted account) is GitHub's ghost.

    Keyed by GitHub id. A login seen before without an id (from a commit) gets the id attached;
    a renamed user keeps their record and gets the new login.
    """
    if not user:
        user = {"id": GHOST_GITHUB_ID, "login": GHOST_LOGIN, "type": "User"}
    login = str(user.get("login") or "")
    github_id = user.get("id")
    if not github_id:
        return contributor_get_or_create_from_login(login=login or GHOST_LOGIN)
    fields = {
        "login": login,
        "avatar_url": str(user.get("avatar_url") or ""),
        "is_bot": _is_bot(login=login, user_type=user.get("type")),
    }
    for _attempt in range(3):
        contributor = Contributor.objects.filter(github_id=github_id).first()
        if contributor is not None:
            changed = {
                key: value
                for key, value in fields.items()
                if value and getattr(contributor, key) != value and key != "is_bot"
            }
            if fields["is_bot"] and not contributor.is_bot:
                changed["is_bot"] = True
            if changed:
                Contributor.objects.filter(pk=contributor.pk).update(**changed)
                for key, value in changed.items():
                    setattr(contributor, key, value)
            return _canonical(contributor)
        try:
            with transaction.atomic():
                unclaimed = (
                    Contributor.objects.select_for_update()
                    .filter(login__iexact=login, github_id__isnull=True, merged_into__isnull=True)
                    .first()
                    if login
                    else None
                )
                if unclaimed is not None:
                    for key, value in fields.items():
                        setattr(unclaimed, key, value)
                    unclaimed.github_id = github_id
                    unclaimed.save()
                    return unclaimed
                return Contributor.objects.create(github_id=github_id, **fields)
        except IntegrityError:
            continue  # another worker created it at the same moment: read theirs
    raise IntegrityError(f"could not create contributor for GitHub id {github_id}")


def contributor_get_or_create_from_login(*, login: str) -> Contributor:
    """The contributor with this login, preferring one whose GitHub id is known."""
    contributor = (
        Contributor.objects.filter(login__iexact=login, merged_into__isnull=True)
        .order_by(F("github_id").asc(nulls_last=True))
        .first()
    )
    if contributor is not None:
        return contributor
    with transaction.atomic():
        contributor = (
            Contributor.objects.select_for_update()
            .filter(login__iexact=login, merged_into__isnull=True)
            .first()
        )
        if contributor is None:
            contributor = Contributor.objects.create(
                login=login, is_bot=_is_bot(login=login, user_type=None)
            )
        return contributor


def identity_record(
    *, contributor: Contributor, source: str, username: str = "", email: str = ""
) -> Identity:
    """Attach a login or email to a contributor; an existing identity keeps its owner."""
    email = email.strip().lower()
    lookup = (
        {"source": source, "email": email}
        if email
        else {"source": source, "username": username, "email": ""}
    )
    try:
        with transaction.atomic():
            identity, _created = Identity.objects.get_or_create(
                **lookup, defaults={"contributor": contributor, "username": username}
            )
    except IntegrityError:
        identity = Identity.objects.get(**lookup)
    return identity


def contributor_resolve_commit_author(
    *, name: str = "", email: str = "", username: str = ""
) -> Contributor:
    """The contributor behind a commit author, so one person's emails count once.

    Order: GitHub's noreply address (it carries the id); the GitHub username if the payload has
    one; a known email identity; otherwise a new contributor known by email only.
    """
    email = (email or "").strip().lower()
    noreply = NOREPLY_EMAIL.match(email)
    if noreply and noreply["id"]:
        contributor = contributor_get_or_create_from_github(
            user={"id": int(noreply["id"]), "login": username or noreply["login"]}
        )
    elif username or noreply:
        contributor = contributor_get_or_create_from_login(
            login=username or (noreply["login"] if noreply else "")
        )
    elif email:
        identity = Identity.objects.filter(source=Identity.Source.GIT, email=email).first()
        if identity is not None:
            return _canonical(identity.contributor)
        contributor = Contributor.objects.create(name=name[:200])
    else:
        return contributor_get_or_create_from_github(user=None)
    if email and not noreply:
        contributor = _canonical(
            identity_record(
                contributor=contributor, source=Identity.Source.GIT, email=email
            ).contributor
        )
    if name and not contributor.name:
        Contributor.objects.filter(pk=contributor.pk, name="").update(name=name[:200])
        contributor.name = name[:200]
    return contributor


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


def contribution_record(
    *,
    contributor: Contributor,
    kind: str,
    occurred_at: datetime,
    source: str,
    external_id: str,
    repository: Repository | None = None,
    title: str = "",
    url: str = "",
    metadata: Mapping[str, Any] | None = None,
) -> tuple[Contribution, bool]:
    """Append one contribution to the ledger, once: a replay returns the existing row.

    Returns `(row, created)`. Webhook (`github`) and backfill (`sync`) rows share one key space,
    so the same GitHub fact seen both ways is counted once.
    """
    same_key = Contribution.objects.filter(external_id=external_id)
    same_key = (
        same_key.filter(source__in=GITHUB_SOURCES)
        if source in GITHUB_SOURCES
        else same_key.filter(source=source)
    )
    existing = same_key.first()
    if existing is not None:
        return existing, False
    metadata = dict(metadata or {})
    try:
        with transaction.atomic():
            row = Contribution.objects.create(
                contributor=_canonical(contributor),
                repository=repository,
                kind=kind,
                occurred_at=occurred_at,
                title=title[:500],
                url=url[:1000],
                source=source,
                external_id=external_id,
                metadata=metadata,
                areas=areas_mask(kind, metadata),
            )
            # In the row's transaction: a replay or a rollback never counts it.
            _tally_add(contributor_id=row.contributor_id, kind=row.kind, areas=row.areas)
    except IntegrityError:
        existing = same_key.first()
        if existing is None:
            raise
        return existing, False
    return row, True


def _tally_add(*, contributor_id: int, kind: str, areas: int) -> None:
    """Count one more ledger row in its tally, safe against concurrent writers: increment in
    place; else create the tally in a savepoint; if another transaction created it meanwhile
    (the unique constraint says so, once theirs commits), increment theirs."""
    tally = ContributionTally.objects.filter(contributor_id=contributor_id, kind=kind, areas=areas)
    for _attempt in range(3):
        if tally.update(count=F("count") + 1):
            return
        try:
            with transaction.atomic():
                ContributionTally.objects.create(
                    contributor_id=contributor_id, kind=kind, areas=areas, count=1
                )
            return
        except IntegrityError:
            continue
    raise IntegrityError(f"could not count a {kind} row of contributor #{contributor_id}")


def contribution_tallies_rebuild(*, contributor_ids: Iterable[int] | None = None) -> int:
    """Recompute the tallies of some contributors (all when `contributor_ids` is None) from the
    ledger with one grouped INSERT … SELECT. Returns the number of tally rows written.

    Used when rows move (`contributors_merge`), after a bulk load, and to repair. On PostgreSQL the
    tally table is locked against writers (readers go on) for the transaction, so a row recorded
    meanwhile is counted exactly once: either it is committed before the lock is granted and the
    SELECT sees it, or its increment waits for the rebuild to commit.
    """
    ids = None if contributor_ids is None else sorted(set(contributor_ids))
    tally_table = connection.ops.quote_name(ContributionTally._meta.db_table)
    ledger_table = connection.ops.quote_name(Contribution._meta.db_table)
    where, params = "", []
    if ids is not None:
        if not ids:
            return 0
        where = f" WHERE contributor_id IN ({', '.join(['%s'] * len(ids))})"
        params = ids
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {tally_table} IN EXCLUSIVE MODE")
        cursor.execute(f"DELETE FROM {tally_table}{where}", params)  # noqa: S608 - names are ours
        cursor.execute(
            f"INSERT INTO {tally_table} (contributor_id, kind, areas, count) "  # noqa: S608
            f"SELECT contributor_id, kind, areas, COUNT(*) FROM {ledger_table}{where} "
            "GROUP BY contributor_id, kind, areas",
            params,
        )
        return max(cursor.rowcount, 0)


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


def contributors_merge(
    *, source: Contributor, target: Contributor, merged_by: User | None = None
) -> ContributorMerge:
    """Fold `source` into `target`: its ledger rows, identities, mirrors and GitHub id move over.

    The source record stays (pointing at the target) so later events for it land on the target.
    """
    source, target = _canonical(source), _canonical(target)
    if source.pk == target.pk:
        raise ValueError(f"{source} and {target} are already the same contributor")
    with transaction.atomic():
        source = Contributor.objects.select_for_update().get(pk=source.pk)
        target = Contributor.objects.select_for_update().get(pk=target.pk)
        moved = {
            "contributions": Contribution.objects.filter(contributor=source).update(
                contributor=target
            ),
            "identities": Identity.objects.filter(contributor=source).update(contributor=target),
            "issues": Issue.objects.filter(author=source).update(author=target),
            "pull_requests": PullRequest.objects.filter(author=source).update(author=target),
            "first_responses": Issue.objects.filter(first_responder=source).update(
                first_responder=target
            )
            + PullRequest.objects.filter(first_responder=source).update(first_responder=target),
        }
        # Awards follow the person; one the target already holds is not held twice.
        held = Award.objects.filter(contributor=target).values_list("badge_id", "period_key")
        duplicates = [
            award.pk
            for award in Award.objects.filter(contributor=source)
            if (award.badge_id, award.period_key) in set(held)
        ]
        Award.objects.filter(pk__in=duplicates).delete()
        moved["awards"] = Award.objects.filter(contributor=source).update(contributor=target)
        contribution_tallies_rebuild(contributor_ids=[source.pk, target.pk])  # rows moved
        if source.github_id and not target.github_id:
            github_id, source.github_id = source.github_id, None
            source.save(update_fields=["github_id"])
            target.github_id = github_id
            target.login = source.login or target.login
            moved["github_id"] = github_id
        if source.user_id and not target.user_id:
            user_id, source.user_id = source.user_id, None
            source.save(update_fields=["user"])
            target.user_id = user_id
        for field in ("name", "avatar_url", "bio", "company", "location", "blog"):
            if not getattr(target, field) and getattr(source, field):
                setattr(target, field, getattr(source, field))
        target.save()
        source.merged_into = target
        source.save(update_fields=["merged_into"])
        return ContributorMerge.objects.create(
            source=source, target=target, merged_by=merged_by, moved=moved
        )


def contributors_set_bot(*, contributor_ids: Iterable[int], is_bot: bool = True) -> int:
    """Mark contributors as bots (kept in the ledger, left out of honours) or as people."""
    with transaction.atomic():
        return Contributor.objects.filter(pk__in=list(contributor_ids)).update(is_bot=is_bot)


def contributor_get_or_create_for_user(*, user: User) -> Contributor:
    """The contributor a signed-in user acts as; a local account gets one on first use."""
    contributor = Contributor.objects.filter(user=user).first()
    if contributor is not None:
        return _canonical(contributor)
    try:
        with transaction.atomic():
            return Contributor.objects.create(user=user, login=user.get_username())
    except IntegrityError:
        return Contributor.objects.get(user=user)


def sponsorship_apply_event(
    *, action: str, sponsorship: Mapping[str, Any], effective_date: datetime | None = None
) -> Sponsorship:
    """Apply one `sponsorship` webhook to our record of it (created, cancelled, edited,
    tier_changed, pending_cancellation, pending_tier_change)."""
    from django.utils.dateparse import parse_datetime

    tier = sponsorship.get("tier") or {}
    sponsor = contributor_get_or_create_from_github(user=sponsorship.get("sponsor"))
    sponsorable = contributor_get_or_create_from_github(user=sponsorship.get("sponsorable"))
    started = parse_datetime(str(sponsorship.get("created_at") or "")) or None
    with transaction.atomic():
        record, created = Sponsorship.objects.select_for_update().get_or_create(
            node_id=str(sponsorship["node_id"]),
            defaults={"sponsor": sponsor, "sponsorable": sponsorable, "started_at": started},
        )
        record.privacy_level = str(sponsorship.get("privacy_level") or record.privacy_level)
        # A pending tier change names the future tier: it becomes current with tier_changed.
        if tier and (action in ("created", "tier_changed") or created):
            record.tier_name = str(tier.get("name") or record.tier_name)
            record.monthly_price_in_cents = int(
                tier.get("monthly_price_in_cents") or record.monthly_price_in_cents
            )
            record.is_one_time = bool(tier.get("is_one_time", record.is_one_time))
        if action in ("created", "tier_changed"):
            record.pending_tier_name = ""
            record.pending_monthly_price_in_cents = None
            record.pending_effective_at = None
        if action == "created":
            record.state = Sponsorship.State.ACTIVE
        elif action == "cancelled":
            record.state = Sponsorship.State.CANCELLED
            record.cancelled_at = timezone.now()
        elif action == "pending_cancellation":
            record.state = Sponsorship.State.PENDING_CANCELLATION
            record.pending_effective_at = effective_date
        elif action == "pending_tier_change":
            record.pending_tier_name = str(tier.get("name") or "")
            record.pending_monthly_price_in_cents = tier.get("monthly_price_in_cents")
            record.pending_effective_at = effective_date
        record.save()
        if action == "created" and record.is_public:
            contribution_record(
                contributor=sponsor,
                kind=ContributionKind.SPONSORSHIP,
                occurred_at=started or timezone.now(),
                source=ContributionSource.GITHUB,
                external_id=f"sponsorship:{record.node_id}",
                title=f"Sponsors {sponsorable.login} ({record.tier_name})",
                metadata={"monthly_price_in_cents": record.monthly_price_in_cents},
            )
    return record
