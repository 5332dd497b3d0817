"""Community health figures, after the CHAOSS metrics' definitions, for a period window.

- New contributors: people whose first ledger row falls in the window.
- Inactive contributors: active in the window of the same length just before, silent in this one.
- Contributor absence factor ("bus factor"): the smallest number of people who together made at
  least 50% of the window's contributions.
- Time to first response: median and 90th percentile, over issues and pull requests opened in the
  window that got one, of the time from opening to the first comment or review by someone else
  (bots excluded; see `contrib.mirrors.item_record_response`).
- Change request acceptance ratio: pull requests merged in the window over those closed in it
  (merged or not).

Bots are left out of the people-counting figures.
"""

import math
from typing import Any

from django.db.models import Count, Exists, OuterRef

from contrib.honor_rolls import Window
from contrib.models import Contribution, Contributor, Issue, PullRequest


def _percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least `fraction` of values ≤ it."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def _response_seconds(model: type[Issue] | type[PullRequest], window: Window) -> list[float]:
    rows = model.objects.filter(
        created_at__gte=window.starts_at,
        created_at__lt=window.ends_at,
        first_response_at__isnull=False,
    ).values_list("created_at", "first_response_at")
    return sorted(
        (responded - created).total_seconds()
        for created, responded in rows
        if created is not None and responded is not None
    )


def community_health(*, window: Window) -> dict[str, Any]:
    """The figures above for one window; a handful of aggregate queries whatever the size."""
    people = Contributor.objects.filter(merged_into__isnull=True, is_bot=False)
    # Each figure asks whether a person has rows in a time range: EXISTS probes of the
    # (contributor, occurred_at) index or a semi-join over the range's rows, never an aggregate
    # over the whole ledger.
    rows = Contribution.objects.filter(contributor=OuterRef("pk"))
    length = window.ends_at - window.starts_at
    in_window = Exists(
        rows.filter(occurred_at__gte=window.starts_at, occurred_at__lt=window.ends_at)
    )
    before = Exists(
        rows.filter(occurred_at__gte=window.starts_at - length, occurred_at__lt=window.starts_at)
    )
    active = people.filter(in_window)
    # First ledger row in the window: active in it, and no row at all before it.
    first_seen = active.exclude(Exists(rows.filter(occurred_at__lt=window.starts_at)))
    inactive = people.filter(before).exclude(in_window).count()

    counts = sorted(
        Contribution.objects.filter(
            occurred_at__gte=window.starts_at,
            occurred_at__lt=window.ends_at,
            contributor__is_bot=False,
        )
        .values("contributor")
        .annotate(n=Count("id"))
        .values_list("n", flat=True),
        reverse=True,
    )
    total = sum(counts)
    absence_factor, running = 0, 0
    for count in counts:
        if total and running * 2 >= total:
            break
        running += count
        absence_factor += 1

    responses = sorted(_response_seconds(Issue, window) + _response_seconds(PullRequest, window))
    closed = PullRequest.objects.filter(
        closed_at__gte=window.starts_at, closed_at__lt=window.ends_at
    )
    closed_count = closed.count()
    merged_count = closed.filter(merged_at__isnull=False).count()
    return {
        "period": window.period,
        "label": window.label,
        "starts_at": window.starts_at,
        "ends_at": window.ends_at,
        "active_contributors": active.count(),
        "new_contributors": first_seen.count(),
        "inactive_contributors": inactive,
        "contributions": total,
        "contributor_absence_factor": absence_factor,
        "first_response_count": len(responses),
        "first_response_median_seconds": _percentile(responses, 0.5),
        "first_response_p90_seconds": _percentile(responses, 0.9),
        "change_requests_closed": closed_count,
        "change_requests_merged": merged_count,
        "change_request_acceptance_ratio": merged_count / closed_count if closed_count else None,
    }
