"""Signals from django-allauth, handed to the accounts services."""

from typing import Any

from allauth.account.signals import user_logged_in, user_signed_up
from allauth.socialaccount.signals import social_account_added
from django.dispatch import receiver

from accounts.services import account_github_sign_in
from contrib.contributors import contributor_get_or_create_for_user


@receiver(user_logged_in, dispatch_uid="accounts.github_sign_in")
def github_sign_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Signing in with GitHub (first time or again)."""
    sociallogin = kwargs.get("sociallogin")
    if sociallogin is None or sociallogin.account.provider != "github":
        return
    account_github_sign_in(user=user, github_user=sociallogin.account.extra_data)


@receiver(social_account_added, dispatch_uid="accounts.github_connected")
def github_connected(sender: Any, request: Any, sociallogin: Any, **kwargs: Any) -> None:
    """A signed-in local account connecting its GitHub account."""
    if sociallogin.account.provider != "github":
        return
    account_github_sign_in(user=sociallogin.user, github_user=sociallogin.account.extra_data)


@receiver(user_signed_up, dispatch_uid="accounts.profile_on_sign_up")
def profile_on_sign_up(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Every account has a profile from its first minute: a local sign-up gets its contributor
    (a local handle where its name is taken) now, not at its first submission. Signing up with
    GitHub is linked by `github_sign_in` instead."""
    sociallogin = kwargs.get("sociallogin")
    if sociallogin is not None and sociallogin.account.provider == "github":
        return
    contributor_get_or_create_for_user(user=user)
