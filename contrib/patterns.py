"""Unusual contribution patterns, for maintainers (the admin's "Unusual patterns" page).

The ledger's rules already refuse to pay for farming (README, "What earns points"): small doc
edits, reverts and repeats earn nothing. This page shows who tries anyway, and bursts of
contributions that no rule caps, so that a maintainer can look before an honour roll freezes.
Reads only; a bounded number of queries over a recent window.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db.models import Count
from django.db.models.functions import TruncHour
from django.utils import timezone

from contrib.docs import MIN_DOC_CHANGE_CHARS, changed_chars
from contrib.models import Contribution, Contributor, DocRevision

SMALL_EDITS = 5  # small doc edits by one person in the window
REVERTS = 2  # revisions that restore an earlier text
OTHERS_PAGES = 10  # revisions of pages someone else created
BURST_PER_HOUR = 20  # ledger rows of one contributor in one hour


@dataclass(frozen=True)
class Pattern:
    """One person's unusual activity of one sort in the window."""

    who: str
    contributor: Contributor | None
    sort: str
    count: int
    first_at: datetime
    last_at: datetime
    detail: str


def unusual_patterns(*, days: int = 7, now: datetime | None = None) -> list[Pattern]:
    """The patterns of the last ``days`` days, the largest first."""
    since = (now or timezone.now()) - timedelta(days=days)
    found = _doc_patterns(since) + _bursts(since)
    return sorted(found, key=lambda p: (-p.count, p.who, p.sort))


def _doc_patterns(since: datetime) -> list[Pattern]:
    recent = list(
        DocRevision.objects.filter(created_at__gte=since, author__isnull=False)
        .select_related("page", "author")
        .order_by("page_id", "number")
    )
    if not recent:
        return []
    pages = {r.page_id for r in recent}
    # Every earlier text of these pages (reverts) and who created each (one query each).
    history: dict[int, list[tuple[int, str]]] = defaultdict(list)
    creators: dict[int, int | None] = {}
    for page_id, number, body, author_id in (
        DocRevision.objects.filter(page_id__in=pages)
        .values_list("page_id", "number", "body", "author_id")
        .order_by("page_id", "number")
    ):
        history[page_id].append((number, body))
        creators.setdefault(page_id, author_id)
    small: dict[int, list[DocRevision]] = defaultdict(list)
    reverts: dict[int, list[DocRevision]] = defaultdict(list)
    others: dict[int, list[DocRevision]] = defaultdict(list)
    users: dict[int, User] = {}
    for revision in recent:
        assert revision.author_id is not None and revision.author is not None
        users[revision.author_id] = revision.author
        earlier = [body for number, body in history[revision.page_id] if number < revision.number]
        if earlier and changed_chars(earlier[-1], revision.body) < MIN_DOC_CHANGE_CHARS:
            small[revision.author_id].append(revision)
        if revision.body in earlier[:-1]:
            reverts[revision.author_id].append(revision)
        if creators.get(revision.page_id) not in (None, revision.author_id):
            others[revision.author_id].append(revision)
    contributors = {
        c.user_id: c for c in Contributor.objects.filter(user_id__in=users, merged_into=None)
    }
    found = []
    for sort, rows, threshold, detail in (
        ("small doc edits", small, SMALL_EDITS, f"under {MIN_DOC_CHANGE_CHARS} characters each"),
        ("doc reverts", reverts, REVERTS, "restored an earlier text"),
        ("edits of others' pages", others, OTHERS_PAGES, "pages someone else created"),
    ):
        for user_id, revisions in rows.items():
            if len(revisions) < threshold:
                continue
            slugs = sorted({r.page.slug for r in revisions})
            found.append(
                Pattern(
                    who=users[user_id].get_username(),
                    contributor=contributors.get(user_id),
                    sort=sort,
                    count=len(revisions),
                    first_at=min(r.created_at for r in revisions),
                    last_at=max(r.created_at for r in revisions),
                    detail=f"{detail}; pages: {', '.join(slugs[:5])}"
                    + (f" and {len(slugs) - 5} more" if len(slugs) > 5 else ""),
                )
            )
    return found


def _bursts(since: datetime) -> list[Pattern]:
    hours = (
        Contribution.objects.filter(occurred_at__gte=since)
        .annotate(hour=TruncHour("occurred_at"))
        .values("contributor_id", "hour")
        .annotate(n=Count("id"))
        .filter(n__gte=BURST_PER_HOUR)
        .order_by("-n")[:100]
    )
    rows = list(hours)
    if not rows:
        return []
    people = Contributor.objects.in_bulk({row["contributor_id"] for row in rows})
    kinds: dict[tuple[int, datetime], list[tuple[str, int]]] = defaultdict(list)
    for part in (
        Contribution.objects.filter(
            occurred_at__gte=min(row["hour"] for row in rows),
            contributor_id__in=people,
        )
        .annotate(hour=TruncHour("occurred_at"))
        .values("contributor_id", "hour", "kind")
        .annotate(n=Count("id"))
        .order_by("-n")
    ):
        kinds[(part["contributor_id"], part["hour"])].append((part["kind"], part["n"]))
    found = []
    for row in rows:
        contributor = people[row["contributor_id"]]
        breakdown = kinds[(row["contributor_id"], row["hour"])]
        found.append(
            Pattern(
                who=contributor.login or contributor.name,
                contributor=contributor,
                sort="burst",
                count=row["n"],
                first_at=row["hour"],
                last_at=row["hour"] + timedelta(hours=1),
                detail="in one hour: " + ", ".join(f"{n} {kind}" for kind, n in breakdown),
            )
        )
    return found
