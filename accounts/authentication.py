from typing import Any

from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from accounts.services import api_token_authenticate
from accounts.throttling import token_check, token_failed


class ApiTokenAuthentication(BaseAuthentication):
    """`Authorization: Token cru_…` (or `Bearer cru_…`) with a key from the API tokens page."""

    keywords = (b"token", b"bearer")

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in self.keywords:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Send the token as `Authorization: Token <key>`.")
        token_check(request._request)  # a locked-out address may not guess (or use) tokens
        token = api_token_authenticate(key=parts[1].decode(errors="replace"))
        if token is None:
            token_failed(request._request)
            raise AuthenticationFailed("Unknown or revoked API token.")
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Token realm="api"'
