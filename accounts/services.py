"""Account actions: API tokens, and what signing in with GitHub means on this platform."""

import hashlib
import logging
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from github import GithubException
from requests import RequestException

from accounts.models import ApiToken
from contrib.contributors import contributor_get_or_create_from_github, contributors_merge
from contrib.github.client import GitHubNotConfigured, GitHubRateLimitWaitTooLong
from contrib.github.maintainers import maintainer_check
from contrib.models import Contributor, Repository

log = logging.getLogger(__name__)

TOKEN_PREFIX = "cru_"  # noqa: S105 - the public prefix of every key, not a secret
MAINTAINERS_GROUP = "Maintainers"
# Apps whose records maintainers look after in the admin.
MAINTAINED_APPS = ("contrib", "evaluation", "accounts")
# last_used_at is a hint for the owner, not an audit log: one write a minute at most.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """A new API token for `user`; returns it with the key, which is never shown again."""
    name = name.strip()
    if not name:
        raise ValueError("Give the token a name, so that you can tell it apart later.")
    key = TOKEN_PREFIX + secrets.token_urlsafe(30)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name[:100], prefix=key[: len(TOKEN_PREFIX) + 6], digest=_digest(key)
        )
    return token, key


def api_token_revoke(*, token: ApiToken, revoked_by: User) -> ApiToken:
    """Revoke a token: by its owner, or by a maintainer allowed to (a leaked key).
    Revoking twice changes nothing."""
    if token.user_id != revoked_by.pk and not revoked_by.has_perm("accounts.change_apitoken"):
        raise PermissionDenied("Only the owner of a token can revoke it.")
    with transaction.atomic():
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    token.refresh_from_db()
    return token


def api_token_authenticate(*, key: str) -> ApiToken | None:
    """The active token with this key, its user loaded; `None` for an unknown or revoked key."""
    if not key.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=_digest(key), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def account_github_link(*, user: User, github_user: Mapping[str, Any]) -> Contributor:
    """Make `user` the person behind the contributor with their GitHub id.

    Signing in with GitHub proves the identity, so that contributor is theirs even if a local
    account had claimed it; a contributor the user had before (a local account's) is merged in.
    """
    contributor = contributor_get_or_create_from_github(user=github_user)
    with transaction.atomic():
        previous = Contributor.objects.filter(user=user).exclude(pk=contributor.pk).first()
        if previous is not None and previous.merged_into_id is None:
            Contributor.objects.filter(pk=previous.pk).update(user=None)
            contributors_merge(source=previous, target=contributor)
            contributor.refresh_from_db()
        if contributor.user_id != user.pk:
            if contributor.user_id is not None:
                log.warning(
                    "GitHub sign-in of %s takes contributor %s from user %s",
                    user,
                    contributor,
                    contributor.user_id,
                )
            Contributor.objects.filter(pk=contributor.pk).update(user=user)
            contributor.user_id = user.pk
    return contributor


def user_maintainer_role_refresh(*, user: User, login: str) -> bool | None:
    """Maintainer (staff, in the Maintainers group) if `login` has write access to a tracked
    repository on GitHub; not otherwise. Superusers keep their role. `None` when GitHub could
    not be asked: the role is left as it was."""
    if user.is_superuser:
        return True
    try:
        maintainer = any(
            maintainer_check(repository=repository, login=login)
            for repository in Repository.objects.filter(tracked=True)
        )
    except (
        GithubException,
        GitHubNotConfigured,
        GitHubRateLimitWaitTooLong,
        RequestException,
    ) as exc:
        log.warning("could not ask GitHub whether %s maintains a repository: %s", login, exc)
        return None
    with transaction.atomic():
        group = _maintainers_group()
        if maintainer:
            user.groups.add(group)
        else:
            user.groups.remove(group)
        if user.is_staff != maintainer:
            user.is_staff = maintainer
            user.save(update_fields=["is_staff"])
    return maintainer


def _maintainers_group() -> Group:
    """The group whose members may look after the platform's records in the admin."""
    group, created = Group.objects.get_or_create(name=MAINTAINERS_GROUP)
    if created or not group.permissions.exists():
        group.permissions.set(
            Permission.objects.filter(content_type__app_label__in=MAINTAINED_APPS)
        )
    return group


def account_github_sign_in(*, user: User, github_user: Mapping[str, Any]) -> Contributor:
    """What a GitHub sign-in does: link the contributor, then refresh the maintainer role."""
    contributor = account_github_link(user=user, github_user=github_user)
    user_maintainer_role_refresh(user=user, login=str(github_user.get("login") or ""))
    return contributor
