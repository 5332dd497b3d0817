"""The platform's domain errors: a business rule refused an action, and the message tells a
person why. Services raise them; each is mapped to an HTTP status in one place for the API
(`contrib.api.errors.exception_handler`) and one for the pages
(`contrib.middleware.DomainErrorMiddleware`), never by reading the message."""


class DomainError(Exception):
    """A business rule refused the action."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAllowedError(DomainError):
    """The actor may not do this (HTTP 403)."""

    status = 403


class InvalidError(DomainError, ValueError):
    """The request cannot be done as it stands: a state, a value (HTTP 400)."""

    status = 400
