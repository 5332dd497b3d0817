"""Evaluation's domain errors, typed on contrib's (`contrib.errors`): a business rule refused the
action, and the message tells a person (or a worker) why. The API's one exception handler
(`contrib.api.errors`) and the pages' one middleware (`contrib.middleware`) answer them with
their status; no view maps them itself. A refusal of a request's *input*, naming the field at
fault, is Django's `ValidationError` instead, answered by field by the same handler."""

from contrib.errors import InvalidError


class TransitionError(InvalidError):
    """A status change that the submission's state machine does not allow (HTTP 400)."""


class JobRefusedError(InvalidError):
    """A worker's call that the platform refuses: not its queue, not its run, not running, or a
    result that is not what an engine writes (HTTP 409)."""

    status = 409
