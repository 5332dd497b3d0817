"""Honour rolls: who contributed most in a week, month, quarter, year or all time, overall and
per kind group. The current period is computed live; a past period is frozen into an immutable
`HonorRoll` so that a later change of scoring weights does not rewrite history.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from contrib.models import Contribution, ContributionKind, Contributor, HonorRoll, HonorRollEntry
from contrib.scores import contribution_scores, count_field, scoring_points

Period = HonorRoll.Period
Category = HonorRoll.Category
K = ContributionKind

CATEGORY_KINDS: dict[str, list[str] | None] = {
    Category.OVERALL: None,
    Category.CODE: [K.CODE, K.TEST, K.INFRA, K.MAINTENANCE],
    Category.REVIEWS: [K.REVIEW],
    Category.DOCS: [K.DOC, K.TRANSLATION],
    Category.DISCUSSION: [K.BUG, K.QUESTION, K.DISCUSSION, K.IDEAS, K.MENTORING],
    Category.EVALUATION: [K.EVALUATION],
}
ALL_TIME_START = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Window:
    period: str
    starts_at: datetime
    ends_at: datetime

    @property
    def is_past(self) -> bool:
        return self.ends_at <= timezone.now()

    @property
    def label(self) -> str:
        start = self.starts_at
        labels: dict[str, str] = {
            Period.WEEK: f"week of {start:%Y-%m-%d}",
            Period.MONTH: f"{start:%B %Y}",
            Period.QUARTER: f"Q{(start.month - 1) // 3 + 1} {start:%Y}",
            Period.YEAR: f"{start:%Y}",
            Period.ALL: "all time",
        }
        return labels[self.period]


def period_window(*, period: str, at: datetime | None = None) -> Window:
    """The period of kind `period` that contains `at` (UTC; weeks start on Monday)."""
    at = (at or timezone.now()).astimezone(UTC)
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == Period.WEEK:
        start = day - timedelta(days=day.weekday())
        end = start + timedelta(days=7)
    elif period == Period.MONTH:
        start = day.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
    elif period == Period.QUARTER:
        start = day.replace(day=1, month=(day.month - 1) // 3 * 3 + 1)
        end = (start + timedelta(days=95)).replace(day=1)
    elif period == Period.YEAR:
        start = day.replace(day=1, month=1)
        end = start.replace(year=start.year + 1)
    elif period == Period.ALL:
        # All time never ends, so it is always live and never frozen.
        return Window(period, ALL_TIME_START, datetime.max.replace(tzinfo=UTC))
    else:
        raise ValueError(f"unknown period {period!r}; use one of {', '.join(Period.values)}")
    return Window(period, start, end)


YEARS = (1970, 2999)  # times a community's history can have; others are refused, not overflowed


def parse_at(value: str) -> datetime:
    """`2026-10`, `2026-10-05` or a full ISO time, as a UTC datetime; ValueError for anything
    else, a year outside 1970–2999 included (a window around it must still be a date)."""
    parsed: datetime | None = None
    for fmt in ("%Y-%m", "%Y-%m-%d", "%Y"):
        try:
            parsed = datetime.strptime(value, fmt).replace(tzinfo=UTC)
            break
        except ValueError:
            continue
    if parsed is None:
        parsed = datetime.fromisoformat(value)
        parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if not YEARS[0] <= parsed.year <= YEARS[1]:
        raise ValueError(f"the year must be from {YEARS[0]} to {YEARS[1]}")
    return parsed


@dataclass
class RollRow:
    rank: int
    contributor: Contributor
    score: Decimal
    breakdown: dict[str, int]


def honor_roll_compute(
    *,
    window: Window,
    category: str,
    points: dict[str, Decimal] | None = None,
    limit: int | None = None,
) -> list[RollRow]:
    """Rank contributors (bots left out) by score in the window, in one SQL aggregation over
    the window's ledger rows. Ties: more contributions first, then login."""
    kinds = CATEGORY_KINDS[category]
    scores = contribution_scores(
        since=window.starts_at,
        until=window.ends_at if window.period != Period.ALL else None,
        kinds=kinds,
        points=points,
    )
    rows = list(scores[:limit] if limit is not None else scores)
    people = Contributor.objects.in_bulk([row["contributor"] for row in rows])
    shown = kinds if kinds is not None else ContributionKind.values
    return [
        RollRow(
            rank=rank,
            contributor=people[row["contributor"]],
            score=row["score"],
            breakdown={kind: row[count_field(kind)] for kind in shown if row[count_field(kind)]},
        )
        for rank, row in enumerate(rows, start=1)
    ]


def honor_roll_freeze(
    *, window: Window, category: str, recompute: bool = False, user: User | None = None
) -> HonorRoll:
    """Freeze a past period's roll with today's rules. Freezing again returns the frozen roll
    unchanged; `recompute=True` (a maintainer's explicit decision) rebuilds it and records who
    did it and when."""
    if not window.is_past:
        raise ValueError(f"the {window.label} roll is still live; only past periods are frozen")
    existing = HonorRoll.objects.filter(
        period=window.period, starts_at=window.starts_at, category=category
    ).first()
    if existing is not None and not recompute:
        return existing
    points = scoring_points()
    rows = honor_roll_compute(window=window, category=category, points=points)
    with transaction.atomic():
        if existing is None:
            try:
                with transaction.atomic():
                    roll = HonorRoll.objects.create(
                        period=window.period,
                        starts_at=window.starts_at,
                        ends_at=window.ends_at,
                        category=category,
                        rules={k: str(v) for k, v in points.items()},
                    )
            except IntegrityError:  # frozen by another worker a moment ago
                return HonorRoll.objects.get(
                    period=window.period, starts_at=window.starts_at, category=category
                )
        else:
            roll = HonorRoll.objects.select_for_update().get(pk=existing.pk)
            roll.entries.all().delete()
            roll.rules = {k: str(v) for k, v in points.items()}
            roll.recomputed_at = timezone.now()
            roll.recomputed_by = user
            roll.recompute_count += 1
            roll.save()
        HonorRollEntry.objects.bulk_create(
            HonorRollEntry(
                roll=roll,
                rank=row.rank,
                contributor=row.contributor,
                score=row.score,
                breakdown=row.breakdown,
            )
            for row in rows
        )
    return roll


def honor_rolls_freeze_ended(*, now: datetime | None = None, back: int = 1) -> list[HonorRoll]:
    """Freeze the `back` most recent ended periods of every kind and category (periodic task;
    already frozen ones are left as they are)."""
    now = now or timezone.now()
    rolls = []
    for period in (Period.WEEK, Period.MONTH, Period.QUARTER, Period.YEAR):
        window = period_window(period=period, at=now)
        for _ in range(back):
            window = period_window(period=period, at=window.starts_at - timedelta(seconds=1))
            for category in Category.values:
                rolls.append(honor_roll_freeze(window=window, category=category))
    return rolls


def honor_roll_get(
    *, period: str, category: str, at: datetime | None = None, limit: int = 100
) -> dict[str, Any]:
    """The roll to show: the frozen one for a past period (frozen on first request if the
    periodic task has not run yet), the live computation for the current period."""
    window = period_window(period=period, at=at)
    # Only a period with contributions is frozen on view, so a crawler walking old dates does
    # not fill the database with empty rolls.
    has_rows = Contribution.objects.filter(
        occurred_at__gte=window.starts_at, occurred_at__lt=window.ends_at
    ).exists()
    if window.is_past and has_rows:
        roll = honor_roll_freeze(window=window, category=category)
        entries = [
            RollRow(e.rank, e.contributor, e.score, e.breakdown)
            for e in roll.entries.select_related("contributor")[:limit]
        ]
        frozen: HonorRoll | None = roll
    else:
        entries = honor_roll_compute(window=window, category=category, limit=limit)
        frozen = None
    return {
        "period": period,
        "category": category,
        "label": window.label,
        "starts_at": window.starts_at,
        "ends_at": window.ends_at if period != Period.ALL else None,
        "frozen": frozen is not None,
        "frozen_at": frozen.frozen_at if frozen else None,
        "recomputed_at": frozen.recomputed_at if frozen else None,
        "entries": entries,
    }
