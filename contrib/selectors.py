"""Reads: contributors with their scores, derived from ledger × scoring rules in SQL."""

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Case, Count, DecimalField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce, TruncDate, TruncWeek

from contrib.models import (
    Award,
    Bounty,
    Contribution,
    ContributionKind,
    ContributionTally,
    Contributor,
    DocPage,
    DocRevision,
    Issue,
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
    queryset = Contributor.objects.filter(merged_into__isnull=True)
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


def contributor_get_public(*, login: str) -> Contributor | None:
    """The contributor shown at `/c/<login>/`: a merged record leads to the one it became."""
    contributor = (
        Contributor.objects.filter(login__iexact=login).select_related("merged_into").first()
    )
    while contributor is not None and contributor.merged_into is not None:
        contributor = contributor.merged_into
    return contributor


def contributor_awards(*, contributor: Contributor) -> QuerySet[Award]:
    """A contributor's awards grouped by badge (for `{% regroup %}`), latest first in each."""
    return contributor.awards.select_related("badge").order_by("badge__name", "-period_key", "-pk")


def awards_for(*, contributor_ids: Iterable[int]) -> dict[int, list[Award]]:
    """Awards of several contributors, per contributor id, in one query (badges inline)."""
    result: dict[int, list[Award]] = {}
    awards = Award.objects.filter(contributor_id__in=list(contributor_ids)).select_related("badge")
    for award in awards.order_by("badge__name", "period_key"):
        result.setdefault(award.contributor_id, []).append(award)
    return result


def contributor_is_sponsored(*, contributor: Contributor) -> bool:
    """Whether someone publicly sponsors this contributor (their sponsor page is linked)."""
    return Sponsorship.objects.filter(
        sponsorable=contributor,
        privacy_level="public",
        state__in=[Sponsorship.State.ACTIVE, Sponsorship.State.PENDING_CANCELLATION],
    ).exists()


def issues_open_count() -> int:
    return Issue.objects.filter(state="open").count()


GOOD_FIRST_LABELS = ("good first issue", "good-first-issue", "help wanted")


def issues_for_newcomers(*, limit: int = 30) -> dict[str, Any]:
    """Open issues a newcomer can pick up, open bounties, and issues nobody answered yet."""
    open_issues = Issue.objects.filter(state="open").select_related("repository", "author")
    labelled = Q()
    for label in GOOD_FIRST_LABELS:
        labelled |= Q(labels__icontains=label)
    return {
        "good_first": list(open_issues.filter(labelled).order_by("-created_at")[:limit]),
        "bounties": list(
            Bounty.objects.filter(state=Bounty.State.OPEN)
            .select_related("issue", "issue__repository")
            .order_by("-amount_minor")[:limit]
        ),
        "unanswered": list(
            open_issues.filter(first_response_at__isnull=True).order_by("created_at")[:limit]
        ),
    }


def sponsorships_public() -> QuerySet[Sponsorship]:
    """Public, current sponsorships, largest first (private ones are never shown)."""
    return (
        Sponsorship.objects.filter(
            privacy_level="public",
            state__in=[Sponsorship.State.ACTIVE, Sponsorship.State.PENDING_CANCELLATION],
        )
        .select_related("sponsor", "sponsorable")
        .order_by("-monthly_price_in_cents", "started_at")
    )


def doc_pages() -> QuerySet[DocPage]:
    return DocPage.objects.annotate(revision_count=Count("revisions")).order_by("title")


def doc_page_get(*, slug: str) -> tuple[DocPage, DocRevision | None] | None:
    """A page and its latest revision (with author), or None."""
    page = DocPage.objects.filter(slug=slug).first()
    if page is None:
        return None
    latest = page.revisions.select_related("author").order_by("-number").first()
    return page, latest
