"""How evaluation's API answers a service's refusal of its input.

A refusal of the *action* (a state the submission cannot leave, a worker's call refused) is a
domain error of `contrib.errors` (`TransitionError`, `JobRefusedError`): the API's one exception
handler (`contrib.api.errors`) answers it, and the pages' middleware. A refusal of the *input*
is Django's `ValidationError` naming the field at fault (`config.lr`, `benchmark`, `archive`):
the pages' forms put it beside their fields, and here it is answered by field, as a serializer's
own errors are (400). One place for evaluation's viewsets instead of a `try` in each action;
it can move into contrib's handler (which must not import evaluation: it needs nothing of it)
once that handler maps Django's `ValidationError` for every app.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView


class InputErrorsByField(APIView):
    """A view mixin: a service's Django `ValidationError` answers 400 by field (`detail` when it
    names none)."""

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, DjangoValidationError):
            detail = exc.message_dict if hasattr(exc, "message_dict") else {"detail": exc.messages}
            exc = ValidationError(detail)
        return super().handle_exception(exc)
