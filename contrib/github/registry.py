"""Which functions handle which GitHub event.

`contrib` handlers register here; other apps (evaluation) register from their `AppConfig.ready`,
so GitHub events reach them without `contrib` importing them.
"""

from collections import defaultdict
from collections.abc import Callable
from typing import Any

Payload = dict[str, Any]
Handler = Callable[[Payload], None]

_handlers: dict[str, list[Handler]] = defaultdict(list)


class DeliveryIgnored(Exception):  # noqa: N818 - an outcome, not an error
    """Raised by a handler when a delivery is valid but there is nothing to do, with the reason."""


def register(event: str) -> Callable[[Handler], Handler]:
    """Decorator: run the function for every delivery of `event`."""

    def decorator(handler: Handler) -> Handler:
        if handler not in _handlers[event]:
            _handlers[event].append(handler)
        return handler

    return decorator


def handlers_for(event: str) -> list[Handler]:
    return list(_handlers.get(event, ()))
