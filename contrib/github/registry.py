"""Which functions handle which GitHub event, in which order.

`contrib` handlers register here; other apps (evaluation) register from their `AppConfig.ready`,
so GitHub events reach them without `contrib` importing them. The order is explicit, never
the order of imports: contrib's facts first (the ledger and the mirrors), then the bot's
commands (which read the comment recorded before them), then other apps. Each handler of a
delivery runs in its own savepoint (`contrib.github.services.webhook_delivery_process`).
"""

import itertools
from collections import defaultdict
from collections.abc import Callable
from typing import Any

Payload = dict[str, Any]
Handler = Callable[[Payload], None]

RECORD = 10  # contrib: ledger rows and mirrors
BOT = 50  # bot commands
APPS = 100  # other apps (evaluation)

_handlers: dict[str, list[tuple[int, int, Handler]]] = defaultdict(list)
_sequence = itertools.count()


class DeliveryIgnored(Exception):  # noqa: N818 - an outcome, not an error
    """Raised by a handler when a delivery is valid but there is nothing to do, with the reason."""


def register(event: str, *, order: int = APPS) -> Callable[[Handler], Handler]:
    """Decorator: run the function for every delivery of `event`, at `order` (lower first;
    the same order: the order of registration)."""

    def decorator(handler: Handler) -> Handler:
        if all(registered is not handler for _, _, registered in _handlers[event]):
            _handlers[event].append((order, next(_sequence), handler))
        return handler

    return decorator


def handlers_for(event: str) -> list[Handler]:
    return [handler for _, _, handler in sorted(_handlers.get(event, ()), key=lambda r: r[:2])]


def handler_name(handler: Handler) -> str:
    """How a delivery's error names the handler that failed."""
    return f"{handler.__module__}.{getattr(handler, '__qualname__', repr(handler))}"
