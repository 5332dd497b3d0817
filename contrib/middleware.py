"""The pages' one mapping of domain errors to HTTP answers."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from contrib.errors import DomainError


class DomainErrorMiddleware:
    """A :class:`~contrib.errors.DomainError` that a view did not handle becomes a page with its
    status (403 or 400) and its message, instead of a server error."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DomainError):
            return None
        referer = request.META.get("HTTP_REFERER", "")
        back = (
            referer
            if url_has_allowed_host_and_scheme(
                referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            )
            else ""
        )  # a link to this site only (the CSP forbids `javascript:history.back()`)
        return render(
            request,
            "contrib/refused.html",
            {"message": exception.message, "status": exception.status, "back": back},
            status=exception.status,
        )
