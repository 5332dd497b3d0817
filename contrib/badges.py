"""Badges: rules evaluated over the ledger and the frozen honour rolls, plus manual awards.

Every award is unique per (badge, contributor, period), so evaluating the rules again changes
nothing; awards follow the ledger, so a merged identity keeps what either record earned.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Count, Min, Q, QuerySet

from contrib.models import (
    Award,
    Badge,
    ContributionKind,
    Contributor,
    HonorRoll,
    Issue,
    PullRequest,
)
from contrib.models import HonorRollEntry as Entry


@dataclass(frozen=True)
class BadgeSpec:
    slug: str
    name: str
    description: str
    periodic: bool = False
    manual: bool = False


BADGES = [
    BadgeSpec("first-code", "First code", "Landed a first code contribution"),
    BadgeSpec("first-review", "First review", "Reviewed a pull request for the first time"),
    BadgeSpec("first-doc", "First docs", "Improved the documentation for the first time"),
    BadgeSpec("contributions-10", "10 contributions", "Made 10 contributions"),
    BadgeSpec("contributions-100", "100 contributions", "Made 100 contributions"),
    BadgeSpec("contributions-1000", "1000 contributions", "Made 1,000 contributions"),
    BadgeSpec(
        "reviewer-of-the-month",
        "Reviewer of the month",
        "Top of a month's reviews honour roll",
        periodic=True,
    ),
    BadgeSpec(
        "docs-champion-of-the-month",
        "Docs champion of the month",
        "Top of a month's documentation honour roll",
        periodic=True,
    ),
    BadgeSpec(
        "top-three", "Top three", "In the top three of a month's overall honour roll", periodic=True
    ),
    BadgeSpec(
        "first-responder",
        "First responder",
        "First to answer someone else's issue or pull request",
    ),
    BadgeSpec(
        "leaderboard-record", "Record holder", "Set a new best score on a benchmark", periodic=True
    ),
    BadgeSpec("community-hero", "Community hero", "Recognised by the maintainers", manual=True),
]
MILESTONES = [(10, "contributions-10"), (100, "contributions-100"), (1000, "contributions-1000")]
FIRSTS = {
    "first-code": ContributionKind.CODE,
    "first-review": ContributionKind.REVIEW,
    "first-doc": ContributionKind.DOC,
}
# Periodic badges from frozen monthly rolls: (badge, category, best rank that earns it).
FROM_ROLLS = [
    ("reviewer-of-the-month", HonorRoll.Category.REVIEWS, 1),
    ("docs-champion-of-the-month", HonorRoll.Category.DOCS, 1),
    ("top-three", HonorRoll.Category.OVERALL, 3),
]


def badges_ensure() -> dict[str, Badge]:
    """The badge rows for the specs above (created the first time)."""
    badges = {badge.slug: badge for badge in Badge.objects.all()}
    for spec in BADGES:
        if spec.slug not in badges:
            badges[spec.slug], _ = Badge.objects.get_or_create(
                slug=spec.slug,
                defaults={
                    "name": spec.name,
                    "description": spec.description,
                    "periodic": spec.periodic,
                    "manual": spec.manual,
                },
            )
    return badges


def badges_evaluate() -> int:
    """Grant every rule badge earned and not yet awarded; returns how many were new.

    One aggregate query over the ledger for the firsts and milestones, one over the frozen
    monthly rolls for the periodic badges. Bots earn nothing.
    """
    badges = badges_ensure()
    firsts = {
        slug: Min("contributions__occurred_at", filter=Q(contributions__kind=kind))
        for slug, kind in FIRSTS.items()
    }
    people = (
        Contributor.objects.filter(is_bot=False, merged_into__isnull=True)
        .annotate(
            total=Count("contributions"),
            **{slug.replace("-", "_"): f for slug, f in firsts.items()},
        )
        .filter(total__gt=0)
    )
    awards: list[Award] = []
    for person in people:
        for slug in FIRSTS:
            first = getattr(person, slug.replace("-", "_"))
            if first is not None:
                awards.append(
                    Award(badge=badges[slug], contributor=person, citation=f"on {first:%Y-%m-%d}")
                )
        for threshold, slug in MILESTONES:
            if person.total >= threshold:
                awards.append(
                    Award(
                        badge=badges[slug],
                        contributor=person,
                        citation=f"{threshold} contributions",
                    )
                )
    for slug, category, best_rank in FROM_ROLLS:
        entries = Entry.objects.filter(
            roll__period=HonorRoll.Period.MONTH,
            roll__category=category,
            rank__lte=best_rank,
            contributor__is_bot=False,
        ).select_related("roll")
        for entry in entries:
            awards.append(
                Award(
                    badge=badges[slug],
                    contributor_id=entry.contributor_id,
                    period_key=f"{entry.roll.starts_at:%Y-%m}",
                    citation=f"#{entry.rank} in {entry.roll.starts_at:%B %Y}, {entry.score} points",
                )
            )
    for model in (Issue, PullRequest):
        first_answers = (
            model.objects.filter(first_responder__isnull=False, first_responder__is_bot=False)
            .values("first_responder")
            .annotate(n=Count("id"), first=Min("first_response_at"))
        )
        for row in first_answers:
            awards.append(
                Award(
                    badge=badges["first-responder"],
                    contributor_id=row["first_responder"],
                    citation=f"first to answer, on {row['first']:%Y-%m-%d}",
                )
            )
    before = Award.objects.count()
    Award.objects.bulk_create(awards, ignore_conflicts=True)
    return Award.objects.count() - before


def award_grant(
    *,
    badge: Badge,
    contributor: Contributor,
    citation: str,
    awarded_by: User | None = None,
    period_key: str = "",
) -> tuple[Award, bool]:
    """A maintainer's (or the platform's) award with a citation; once per badge and period."""
    if not citation.strip():
        raise ValueError("an award needs a citation: say what it is for")
    try:
        with transaction.atomic():
            return Award.objects.create(
                badge=badge,
                contributor=contributor,
                citation=citation[:500],
                awarded_by=awarded_by,
                period_key=period_key,
            ), True
    except IntegrityError:
        return Award.objects.get(badge=badge, contributor=contributor, period_key=period_key), False


def contributor_awards(*, contributor: Contributor) -> QuerySet[Award]:
    """A contributor's awards grouped by badge (for `{% regroup %}`), latest first in each."""
    return contributor.awards.select_related("badge").order_by("badge__name", "-period_key", "-pk")


def awards_for(
    *, contributor_ids: Iterable[int], before: datetime | None = None
) -> dict[int, list[Award]]:
    """Awards of several contributors, per contributor id, in one query (badges inline); with
    `before`, only those earned by then (a past period's roll shows what they had then)."""
    result: dict[int, list[Award]] = {}
    awards = Award.objects.filter(contributor_id__in=list(contributor_ids)).select_related("badge")
    if before is not None:
        awards = awards.filter(awarded_at__lt=before)
    for award in awards.order_by("badge__name", "period_key"):
        result.setdefault(award.contributor_id, []).append(award)
    return result
