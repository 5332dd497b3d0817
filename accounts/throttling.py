"""Throttling of every way to prove who one is: the sign-in pages (allauth, the admin, the
browsable API) and API tokens, all counted by django-axes in the shared cache.

A client address that fails `LOGIN_FAILURE_LIMIT` times is refused, on every surface and with
the right password or token too, until `LOGIN_COOLOFF_MINUTES` have passed since its last
failure. The count lives in the default cache, which every web process shares (Redis where the
broker is Redis, the database otherwise), so running more processes does not multiply guesses.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from rest_framework.exceptions import Throttled

TOKEN_CREDENTIALS = {"username": "(API token)"}


class ThrottlingBackend(AxesStandaloneBackend):
    """axes' gate in front of the password backends. A check without a request (Django's test
    client `login()`, code that verifies a password by itself) has no client address to count,
    so it passes through instead of failing."""

    def authenticate(self, request: HttpRequest | None, *args: Any, **kwargs: Any) -> None:
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)


def client_ip(request: HttpRequest) -> str:
    """The client's address, as failures are counted. Behind `PROXY_COUNT` trusted proxies it
    is the entry that many places from the right of `X-Forwarded-For` (each proxy appends the
    address it saw); with no proxy the header is the client's own word and is ignored. An IPv6
    address counts as its /64 (one host can use every address in it)."""
    remote = request.META.get("REMOTE_ADDR") or "0.0.0.0"  # noqa: S104 - only a counter key
    count = settings.PROXY_COUNT
    candidate = remote
    if count > 0:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= count:
            candidate = forwarded[-count]
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        return remote
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        # One IPv6 host holds a whole /64: counting single addresses would count nothing.
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def username_of(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """The name a failed attempt tried, for the log (allauth calls its field `login`)."""
    credentials = credentials or {}
    name = credentials.get("username") or credentials.get("email")
    if not name and request is not None and request.method == "POST":
        name = request.POST.get("login") or request.POST.get("username")
    return str(name or "")[:150]


def _cool_off_text(request: HttpRequest) -> str:
    cool_off = get_cool_off(request)
    minutes = max(1, round(cool_off.total_seconds() / 60)) if cool_off else None
    return f"in {minutes} minute{'s' if minutes != 1 else ''}" if minutes else "later"


def _locked_text(request: HttpRequest) -> str:
    return (
        f"Too many failed sign-in attempts from your address. Try again {_cool_off_text(request)}."
    )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict[str, Any]
) -> HttpResponse:
    """429: JSON for the API (like its other errors), the explanatory page for people."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _locked_text(request)}, status=429)
    context = {"failure_limit": settings.AXES_FAILURE_LIMIT, "cooloff": _cool_off_text(request)}
    return render(request, "account/locked_out.html", context, status=429)


def token_check(request: HttpRequest) -> None:
    """Refuse (429) an API token from an address that is locked out."""
    if not AxesProxyHandler.is_allowed(request, TOKEN_CREDENTIALS):
        raise Throttled(detail=_locked_text(request))


def token_failed(request: HttpRequest) -> None:
    """Count an unknown or revoked token as a failed sign-in of this address."""
    user_login_failed.send(sender=__name__, credentials=TOKEN_CREDENTIALS, request=request)
