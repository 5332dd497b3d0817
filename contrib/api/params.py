"""Query parameters read by the views themselves: each is checked against exactly what the schema
says of it, and anything else is a 400 naming the parameter. A parameter given empty is not
a parameter left out: `?limit=` is as wrong as `?limit=x`."""

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rest_framework.exceptions import ValidationError

from contrib.honor_rolls import parse_at

# A time: a year, a month, a day, or a day with a time of day and an optional UTC offset, in
# the years 1970 to 2999 (those `parse_at` reads); only days that exist, 29 February in leap
# years only. The schema and the check share this pattern, so that whatever the schema allows
# is read and whatever it does not is refused.
_YEAR = r"(19[7-9][0-9]|2[0-9]{3})"
_LEAP_YEAR = r"(19(7[26]|8[048]|9[26])|2[0-9](0[48]|[2468][048]|[13579][26])|2[048]00)"
_MONTH_DAY = (
    r"((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)"
    r"|02-(0[1-9]|1[0-9]|2[0-8]))"
)
_DAY = rf"({_YEAR}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)"
_TIME_OF_DAY = r"([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
_OFFSET = r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
TIME_PATTERN = rf"^({_YEAR}(-(0[1-9]|1[0-2]))?|{_DAY}(T{_TIME_OF_DAY}{_OFFSET}?)?)$"
TIME_HELP = "2026, 2026-10, 2026-10-05 or 2026-10-05T14:30:00Z, in the years 1970 to 2999"
TIME_SCHEMA = {"type": "string", "pattern": TIME_PATTERN}
_TIME = re.compile(TIME_PATTERN)
MONTH_PATTERN = rf"^{_YEAR}-(0[1-9]|1[0-2])$"
MONTH_SCHEMA = {"type": "string", "pattern": MONTH_PATTERN}
_MONTH = re.compile(MONTH_PATTERN)

# The largest whole number a parameter may hold: the database's integers end there.
MAX_INTEGER = 2**31 - 1
_INTEGER = re.compile(r"[0-9]+")


def time_parse(value: str) -> datetime:
    """A time as the schema describes it, in UTC; ValueError for anything else."""
    if not _TIME.fullmatch(value):
        raise ValueError(f"use {TIME_HELP}")
    # In UTC: PostgreSQL takes no offset beyond ±15:59, and ISO's go to ±23:59.
    return parse_at(value).astimezone(UTC)


def time_param(params: Any, name: str) -> datetime | None:
    """The time query parameter `name`, None when it is not given, or a 400 naming it."""
    raw = params.get(name)
    if raw is None:
        return None
    try:
        return time_parse(raw)
    except ValueError as exc:
        raise ValidationError({name: [str(exc)]}) from exc


def month_param(params: Any, name: str) -> datetime:
    """The month query parameter `name` (`2026-10`), required, or a 400 naming it."""
    raw = params.get(name)
    if raw is None or not _MONTH.fullmatch(raw):
        raise ValidationError({name: ["give the month as 2026-10, in the years 1970 to 2999"]})
    return parse_at(raw)


def integer_parse(value: str, *, minimum: int, maximum: int = MAX_INTEGER) -> int:
    """A whole number written in decimal digits, within bounds; ValueError for anything else."""
    if not _INTEGER.fullmatch(value) or not minimum <= int(value) <= maximum:
        raise ValueError(f"a whole number from {minimum} to {maximum}")
    return int(value)


def integer_param(
    params: Any, name: str, *, default: int, minimum: int, maximum: int = MAX_INTEGER
) -> int:
    """The whole-number query parameter `name`, `default` when it is not given, or a 400."""
    raw = params.get(name)
    if raw is None:
        return default
    try:
        return integer_parse(raw, minimum=minimum, maximum=maximum)
    except ValueError as exc:
        raise ValidationError({name: [str(exc)]}) from exc


def boolean_param(params: Any, name: str, *, default: bool) -> bool:
    """The query parameter `name` as `true` or `false`, `default` when not given, or a 400."""
    raw = params.get(name)
    if raw is None:
        return default
    if raw not in ("true", "false"):
        raise ValidationError({name: ["use true or false"]})
    return raw == "true"


def choice_param(params: Any, name: str, *, default: str, choices: list[str]) -> str:
    """The query parameter `name`, one of `choices`, `default` when not given, or a 400."""
    raw = params.get(name)
    if raw is None:
        return default
    if raw not in choices:
        raise ValidationError({name: [f"use one of {', '.join(choices)}"]})
    return str(raw)


def params_read(**readers: Callable[[], Any]) -> dict[str, Any]:
    """Each reader's value by name; or one 400 that names every parameter at fault."""
    values: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    for name, read in readers.items():
        try:
            values[name] = read()
        except ValidationError as exc:
            errors.update(exc.detail)  # type: ignore[arg-type]  # always a dict here
    if errors:
        raise ValidationError(errors)
    return values
