"""Query parameters the pages read. Each is checked as the API checks its own (the same
parsers); a wrong one is a 400 page that names it (a domain error, rendered by
`contrib.middleware.DomainErrorMiddleware`), never a silent default. An empty value is a value
left out: the pages' filter forms send every field."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from contrib.api.params import MAX_INTEGER, integer_parse, time_parse
from contrib.errors import InvalidError


class ParameterError(InvalidError):
    """A query parameter of a page is wrong; the message names it."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"The parameter “{name}” is wrong: {problem}.")
        self.name = name


def page_choice(params: Any, name: str, *, default: str, choices: Sequence[str]) -> str:
    raw = params.get(name) or ""
    if not raw:
        return default
    if raw not in choices:
        raise ParameterError(name, f"use one of {', '.join(choices)}")
    return str(raw)


def page_time(params: Any, name: str) -> datetime | None:
    raw = params.get(name) or ""
    if not raw:
        return None
    try:
        return time_parse(raw)
    except ValueError as exc:
        raise ParameterError(name, str(exc)) from exc


def page_integer(
    params: Any, name: str, *, minimum: int = 1, maximum: int = MAX_INTEGER
) -> int | None:
    raw = params.get(name) or ""
    if not raw:
        return None
    try:
        return integer_parse(raw, minimum=minimum, maximum=maximum)
    except ValueError as exc:
        raise ParameterError(name, str(exc)) from exc


def page_text(params: Any, name: str, *, max_length: int = 100) -> str:
    raw = (params.get(name) or "").strip()
    if len(raw) > max_length or "\x00" in raw:
        raise ParameterError(name, f"at most {max_length} characters, no NUL")
    return str(raw)
