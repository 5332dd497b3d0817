"""The API's one mapping of domain errors to HTTP answers (set as DRF's exception handler)."""

from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from contrib.errors import DomainError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus: a :class:`DomainError` answers its status with ``{"detail": ...}``."""
    if isinstance(exc, DomainError):
        return Response({"detail": exc.message}, status=exc.status)
    return drf_exception_handler(exc, context)
