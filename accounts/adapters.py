from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.http import HttpRequest


class AccountAdapter(DefaultAccountAdapter):
    """Local sign-up only where the deployment allows it (`ACCOUNT_ALLOW_SIGNUP`)."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return bool(settings.ACCOUNT_ALLOW_SIGNUP)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Signing up with GitHub stays open when local sign-up is closed."""

    def is_open_for_signup(self, request: HttpRequest, sociallogin: Any) -> bool:
        return True
