"""Scores: the ledger × the scoring rules, in SQL, and the counts the pages show (per kind,
per week, per day); a profile's figures read the per-contributor tallies."""

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import (
    Case,
    Count,
    DecimalField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate, TruncWeek

from contrib.models import (
    Contribution,
    ContributionKind,
    ContributionTally,
    Contributor,
    ScoringRule,
    Sponsorship,
)

# Defaults start from OpenDigger's activity weights: merged work above reviews above comments.
DEFAULT_POINTS: dict[str, Decimal] = {
    ContributionKind.CODE: Decimal("5"),
    ContributionKind.REVIEW: Decimal("3"),
    ContributionKind.BUG: Decimal("2"),
    ContributionKind.DOC: Decimal("4"),
    ContributionKind.QUESTION: Decimal("1"),
    ContributionKind.DISCUSSION: Decimal("0.5"),
    ContributionKind.TEST: Decimal("4"),
    ContributionKind.INFRA: Decimal("4"),
    ContributionKind.MAINTENANCE: Decimal("3"),
    ContributionKind.TRANSLATION: Decimal("3"),
    ContributionKind.MENTORING: Decimal("3"),
    ContributionKind.IDEAS: Decimal("2"),
    ContributionKind.EVALUATION: Decimal("3"),
    ContributionKind.SPONSORSHIP: Decimal("5"),
}


def scoring_points() -> dict[str, Decimal]:
    """Points per kind: the admin's rules over the defaults."""
    points = dict(DEFAULT_POINTS)
    points.update(ScoringRule.objects.values_list("kind", "points"))
    return points


def count_field(kind: str) -> str:
    return f"count_{kind}"


def private_only(ref: str = "pk") -> Q:
    """The contributor at ``ref`` is known only as a private sponsor: a private sponsorship and
    no contribution of their own."""
    own_rows = Contribution.objects.filter(contributor=OuterRef(ref))
    private_sponsor = Sponsorship.objects.filter(sponsor=OuterRef(ref), privacy_level="private")
    return Q(Exists(private_sponsor)) & ~Q(Exists(own_rows))


def contributors_public() -> QuerySet[Contributor]:
    """Contributors anyone may see: not merged away, and not known only as a private sponsor (a
    private sponsor with no contribution of their own appears nowhere public)."""
    return Contributor.objects.filter(merged_into__isnull=True).exclude(private_only())


def contributors_with_scores(
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    include_bots: bool = True,
    kinds: Iterable[str] | None = None,
    points: Mapping[str, Decimal] | None = None,
) -> QuerySet[Contributor]:
    """Contributors annotated with `score`, `contribution_count` and `count_<kind>` per kind.

    One aggregate query whatever the ledger size; changing a rule re-scores all history.
    `kinds` limits the score and counts to some kinds (an honour roll's category); `points`
    overrides the current rules (a frozen roll's).
    """
    window = Q()
    if kinds is not None:
        window &= Q(contributions__kind__in=list(kinds))
    if since is not None:
        window &= Q(contributions__occurred_at__gte=since)
    if until is not None:
        window &= Q(contributions__occurred_at__lt=until)
    score = Sum(
        Case(
            *[
                When(contributions__kind=kind, then=Value(weight))
                for kind, weight in (points or scoring_points()).items()
            ],
            default=Value(Decimal("0")),
            output_field=DecimalField(max_digits=14, decimal_places=3),
        ),
        filter=window,
    )
    counts = {
        count_field(kind): Count("contributions", filter=window & Q(contributions__kind=kind))
        for kind in ContributionKind.values
    }
    queryset = contributors_public()
    if not include_bots:
        queryset = queryset.filter(is_bot=False)
    return queryset.annotate(
        score=Coalesce(score, Value(Decimal("0")), output_field=DecimalField()),
        contribution_count=Count("contributions", filter=window),
        **counts,
    )


TallyRow = tuple[str, int, int]  # (kind, areas bit mask, count)


def contributor_tallies(*, contributor: Contributor) -> list[TallyRow]:
    """A contributor's all-time ledger as (kind, areas, count) rows: a few dozen at most,
    read through the tally's unique index whatever the size of their ledger."""
    rows = ContributionTally.objects.filter(contributor=contributor, count__gt=0).values_list(
        "kind", "areas", "count"
    )
    return list(rows)


def contributor_with_totals(
    *,
    contributor: Contributor,
    tallies: Iterable[TallyRow] | None = None,
    points: Mapping[str, Decimal] | None = None,
) -> Contributor:
    """The contributor with the all-time `score`, `contribution_count` and `count_<kind>` that
    `contributors_with_scores()` annotates, computed from their tallies × the current rules
    instead of an aggregate over their ledger (a heavy contributor has 10⁵ rows)."""
    if tallies is None:
        tallies = contributor_tallies(contributor=contributor)
    weights = points or scoring_points()
    counts = dict.fromkeys(ContributionKind.values, 0)
    score = Decimal("0")
    for kind, _areas, count in tallies:
        counts[kind] = counts.get(kind, 0) + count
        score += weights.get(kind, Decimal("0")) * count
    for kind, count in counts.items():
        setattr(contributor, count_field(kind), count)
    contributor.score = score  # type: ignore[attr-defined]
    contributor.contribution_count = sum(counts.values())  # type: ignore[attr-defined]
    return contributor


def tally_points() -> Case:
    """A tally row's points under the current rules (its count × its kind's weight)."""
    return Case(
        *[When(kind=kind, then=F("count") * Value(w)) for kind, w in scoring_points().items()],
        default=Value(Decimal("0")),
        output_field=DecimalField(max_digits=14, decimal_places=3),
    )


def contributor_standing(*, contributor: Contributor) -> tuple[int, Decimal]:
    """A person's all-time rank among the public people (not bots) and their score, from the
    tallies (one aggregate over a few rows per contributor, whatever the ledger's size)."""
    mine = contributor_with_totals(contributor=contributor).score  # type: ignore[attr-defined]
    people = contributors_public().filter(is_bot=False).values("pk")
    ahead = (
        ContributionTally.objects.filter(contributor__in=people)
        .values("contributor_id")
        .annotate(points=Sum(tally_points()))
        .filter(points__gt=mine)
        .count()
    )
    return ahead + 1, mine


def contribution_scores(
    *,
    since: datetime | None,
    until: datetime | None,
    kinds: Iterable[str] | None = None,
    points: Mapping[str, Decimal] | None = None,
    include_bots: bool = False,
) -> QuerySet[Any, dict[str, Any]]:
    """Per contributor: `score`, `contribution_count` and `count_<kind>` over a time window,
    aggregated from the ledger side so that the window's index bounds the rows read (a month
    of a large ledger, not all of it). Ordered best first; ties by count, then login."""
    rows = Contribution.objects.all()
    if since is not None:
        rows = rows.filter(occurred_at__gte=since)
    if until is not None:
        rows = rows.filter(occurred_at__lt=until)
    kinds = list(kinds) if kinds is not None else None
    if kinds is not None:
        rows = rows.filter(kind__in=kinds)
    if not include_bots:
        rows = rows.filter(contributor__is_bot=False)
    weights = points or scoring_points()
    score = Sum(
        Case(
            *[When(kind=kind, then=Value(weight)) for kind, weight in weights.items()],
            default=Value(Decimal("0")),
            output_field=DecimalField(max_digits=14, decimal_places=3),
        )
    )
    shown = kinds if kinds is not None else ContributionKind.values
    result: Any = (  # the stubs type .values() rows as a TypedDict of the first names only
        rows.values("contributor")
        .annotate(
            score=score,
            contribution_count=Count("id"),
            **{count_field(kind): Count("id", filter=Q(kind=kind)) for kind in shown},
        )
        .order_by("-score", "-contribution_count", "contributor__login", "contributor")
    )
    return result


# --- pages: reads for the dashboard and the contributor profile ------------------------------


def contributions_per_week(*, since: datetime) -> list[dict[str, Any]]:
    """Ledger rows since `since` counted per (week, kind): one grouped query, humans only."""
    rows: Any = (
        Contribution.objects.filter(occurred_at__gte=since, contributor__is_bot=False)
        .annotate(week=TruncWeek("occurred_at"))
        .values("week", "kind")
        .annotate(n=Count("id"))
        .order_by("week", "kind")
    )
    return list(rows)


def contribution_days(*, contributor: Contributor, since: datetime) -> dict[date, int]:
    """A contributor's ledger rows since `since` counted per UTC day (one grouped query)."""
    rows = (
        Contribution.objects.filter(contributor=contributor, occurred_at__gte=since)
        .annotate(day=TruncDate("occurred_at"))
        .values_list("day")
        .annotate(n=Count("id"))
        .order_by()
    )
    return dict(rows)


def contributor_kind_counts(
    *, contributor: Contributor, tallies: Iterable[TallyRow] | None = None
) -> list[tuple[str, int]]:
    """(kind, count) for all of a contributor's ledger, most first, from their tallies (pass
    `tallies` when the caller already read them)."""
    if tallies is None:
        tallies = contributor_tallies(contributor=contributor)
    counts: dict[str, int] = {}
    for kind, _areas, count in tallies:
        counts[kind] = counts.get(kind, 0) + count
    return sorted(((k, n) for k, n in counts.items() if n > 0), key=lambda row: (-row[1], row[0]))
