"""Contributors and their identities: who a GitHub account, a commit e-mail or a platform user
is; merging two records of one person; bots. Writes and reads."""

import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import BooleanField, ExpressionWrapper, F, Q

from contrib.ledger import contribution_tallies_rebuild, contributor_canonical
from contrib.models import (
    Award,
    Contribution,
    Contributor,
    ContributorMerge,
    Identity,
    Issue,
    PullRequest,
)
from contrib.scores import contributors_public, private_only

GHOST_GITHUB_ID = 10137
GHOST_LOGIN = "ghost"
NOREPLY_EMAIL = re.compile(r"^(?:(?P<id>\d+)\+)?(?P<login>[^@+]+)@users\.noreply\.github\.com$")

GitHubUser = Mapping[str, Any]


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
    known = Contributor.objects.filter(github_id=github_id).first()
    if known is not None and known.login.lower() == login.lower():
        return _contributor_refresh(known, fields)  # the usual event: one read, no lock
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return _contributor_from_github(github_id=github_id, fields=fields)
        except IntegrityError:
            continue  # another worker created it (or took the login) at the same moment
    raise IntegrityError(f"could not create contributor for GitHub id {github_id}")


def _contributor_refresh(contributor: Contributor, fields: dict[str, Any]) -> Contributor:
    """What GitHub now says of a known account (a new login, avatar; once a bot, a bot)."""
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
    return contributor_canonical(contributor)


def _contributor_from_github(*, github_id: int, fields: dict[str, Any]) -> Contributor:
    """A new account, or a login new to a known one: the login is freed first."""
    login = fields["login"]
    if login:
        _login_give_up(login=login, github_id=github_id)
    contributor = Contributor.objects.filter(github_id=github_id).first()
    if contributor is not None:
        return _contributor_refresh(contributor, fields)
    # A login seen only in commits is this person's (GitHub named its author so).
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


def _login_give_up(*, login: str, github_id: int) -> None:
    """Make `login` free for the GitHub account GitHub now gives it to.

    A login is one GitHub account's at a time (the database holds it unique among them): a
    record still holding it from before its owner renamed takes `name.gh<id>` until GitHub
    names that account again; a local account's contributor steps aside. Call inside a
    transaction.
    """
    stale = Contributor.objects.select_for_update().filter(
        login__iexact=login, github_id__isnull=False, merged_into__isnull=True
    )
    for holder in stale.exclude(github_id=github_id):
        suffix = f".gh{holder.github_id}"  # unique: no GitHub login holds a dot
        Contributor.objects.filter(pk=holder.pk).update(
            login=holder.login[: 100 - len(suffix)] + suffix
        )
    _locals_step_aside(login=login)


def _locals_step_aside(*, login: str) -> None:
    """A local account's contributor never holds a GitHub name (anyone can sign up with any
    name): it takes a local handle. Call inside a transaction."""
    for local in Contributor.objects.select_for_update().filter(
        login__iexact=login, github_id__isnull=True, user__isnull=False
    ):
        Contributor.objects.filter(pk=local.pk).update(login=_local_handle(login))


def contributor_get_or_create_from_login(*, login: str) -> Contributor:
    """The contributor GitHub calls `login` (a commit's author), preferring one whose GitHub
    id is known. A local account's contributor never answers to a GitHub name."""
    githubs = Contributor.objects.filter(
        Q(github_id__isnull=False) | Q(user__isnull=True),
        login__iexact=login,
        merged_into__isnull=True,
    ).order_by(F("github_id").asc(nulls_last=True), "pk")
    contributor = githubs.first()
    if contributor is not None:
        return contributor
    with transaction.atomic():
        contributor = githubs.select_for_update().first()
        if contributor is None:
            _locals_step_aside(login=login)
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

    Order: the GitHub username if the payload has one (GitHub matched the address to an
    account), with the id of GitHub's noreply address; a known account by a noreply id; a known
    email identity; otherwise a new contributor known by email only. Anyone may write any
    address into a commit, so an address alone never names, renames or claims a GitHub login.
    """
    email = (email or "").strip().lower()
    noreply = NOREPLY_EMAIL.match(email)
    github_id = int(noreply["id"]) if noreply and noreply["id"] else None
    known = (
        Contributor.objects.filter(github_id=github_id).first()
        if github_id and not username
        else None
    )
    if username and github_id:
        contributor = contributor_get_or_create_from_github(
            user={"id": github_id, "login": username}
        )
    elif username:
        contributor = contributor_get_or_create_from_login(login=username)
    elif known is not None:
        return contributor_canonical(known)
    elif email:
        identity = Identity.objects.filter(source=Identity.Source.GIT, email=email).first()
        if identity is not None:
            return contributor_canonical(identity.contributor)
        contributor = Contributor.objects.create(name=name[:200])
    else:
        return contributor_get_or_create_from_github(user=None)
    if email and not (noreply and username):
        contributor = contributor_canonical(
            identity_record(
                contributor=contributor, source=Identity.Source.GIT, email=email
            ).contributor
        )
    if name and not contributor.name:
        Contributor.objects.filter(pk=contributor.pk, name="").update(name=name[:200])
        contributor.name = name[:200]
    return contributor


def contributors_merge(
    *, source: Contributor, target: Contributor, merged_by: User | None = None
) -> ContributorMerge:
    """Fold `source` into `target`: its ledger rows, identities, mirrors and GitHub id move over.

    The source record stays (pointing at the target) so later events for it land on the target.
    """
    source, target = contributor_canonical(source), contributor_canonical(target)
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
        return contributor_canonical(contributor)
    username = user.get_username()
    taken = Contributor.objects.filter(login__iexact=username).exists()
    try:
        with transaction.atomic():
            return Contributor.objects.create(
                user=user, login=_local_handle(username) if taken else username
            )
    except IntegrityError:
        return Contributor.objects.get(user=user)


def _local_handle(username: str) -> str:
    """A handle for a local account that no GitHub login can be (GitHub logins have no dot)."""
    base = f"{username}.local"
    handle, n = base, 1
    while Contributor.objects.filter(login__iexact=handle).exists():
        n += 1
        handle = f"{base}{n}"
    return handle


def contributor_get_public(*, login: str) -> Contributor | None:
    """The contributor shown at `/c/<login>/` and by the API: a merged record leads to the one
    it became; a private sponsor known for nothing else is not shown (one query as a rule)."""
    if "\x00" in login:  # no login holds one, and PostgreSQL refuses to compare with one
        return None
    hidden = ExpressionWrapper(private_only("pk"), output_field=BooleanField())
    merged_hidden = ExpressionWrapper(private_only("merged_into"), output_field=BooleanField())
    found = (
        Contributor.objects.filter(login__iexact=login)
        .order_by(F("github_id").asc(nulls_last=True), "pk")  # GitHub's own first
        .select_related("merged_into")
        .annotate(hidden=hidden, merged_hidden=merged_hidden)
        .first()
    )
    if found is None:
        return None
    if found.merged_into is None:
        return None if found.hidden else found
    target = found.merged_into
    if target.merged_into_id is None:
        return None if found.merged_hidden else target
    while target.merged_into is not None:  # a chain of merges: rare, a query a link
        target = target.merged_into
    return contributors_public().filter(pk=target.pk).first()
