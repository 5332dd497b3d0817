"""The API's one mapping of domain errors to HTTP answers (set as DRF's exception handler).

A refusal of the *action* is a domain error (`contrib.errors`): its status, with
``{"detail": ...}``. A refusal of the *input* by a service is Django's `ValidationError`
naming the field at fault (`config.lr`, `benchmark`, `archive`), which the pages' forms put
beside their fields: here it is a 400 by field, as a serializer's own errors are (``detail``
when it names none)."""

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from contrib.errors import DomainError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus domain errors and services' Django `ValidationError`s."""
    if isinstance(exc, DomainError):
        return Response({"detail": exc.message}, status=exc.status)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            detail = {
                api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field: errors
                for field, errors in exc.message_dict.items()
            }
        else:
            detail = {"detail": exc.messages}
        exc = ValidationError(detail)
    return drf_exception_handler(exc, context)
