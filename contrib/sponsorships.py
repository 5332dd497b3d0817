"""Sponsorships from GitHub Sponsors: the state of each, and the public ones."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from contrib.contributors import contributor_get_or_create_from_github
from contrib.ledger import contribution_record
from contrib.models import (
    ContributionKind,
    ContributionSource,
    Contributor,
    Sponsorship,
)


def sponsorship_apply_event(
    *, action: str, sponsorship: Mapping[str, Any], effective_date: datetime | None = None
) -> Sponsorship:
    """Apply one `sponsorship` webhook to our record of it (created, cancelled, edited,
    tier_changed, pending_cancellation, pending_tier_change)."""
    from django.utils.dateparse import parse_datetime

    tier = sponsorship.get("tier") or {}
    sponsor = contributor_get_or_create_from_github(user=sponsorship.get("sponsor"))
    sponsorable = contributor_get_or_create_from_github(user=sponsorship.get("sponsorable"))
    started = parse_datetime(str(sponsorship.get("created_at") or "")) or None
    with transaction.atomic():
        record, created = Sponsorship.objects.select_for_update().get_or_create(
            node_id=str(sponsorship["node_id"]),
            defaults={"sponsor": sponsor, "sponsorable": sponsorable, "started_at": started},
        )
        record.privacy_level = str(sponsorship.get("privacy_level") or record.privacy_level)
        # A pending tier change names the future tier: it becomes current with tier_changed.
        if tier and (action in ("created", "tier_changed") or created):
            record.tier_name = str(tier.get("name") or record.tier_name)
            record.monthly_price_in_cents = int(
                tier.get("monthly_price_in_cents") or record.monthly_price_in_cents
            )
            record.is_one_time = bool(tier.get("is_one_time", record.is_one_time))
        if action in ("created", "tier_changed"):
            record.pending_tier_name = ""
            record.pending_monthly_price_in_cents = None
            record.pending_effective_at = None
        if action == "created":
            record.state = Sponsorship.State.ACTIVE
        elif action == "cancelled":
            record.state = Sponsorship.State.CANCELLED
            record.cancelled_at = timezone.now()
        elif action == "pending_cancellation":
            record.state = Sponsorship.State.PENDING_CANCELLATION
            record.pending_effective_at = effective_date
        elif action == "pending_tier_change":
            record.pending_tier_name = str(tier.get("name") or "")
            record.pending_monthly_price_in_cents = tier.get("monthly_price_in_cents")
            record.pending_effective_at = effective_date
        record.save()
        if action == "created" and record.is_public:
            contribution_record(
                contributor=sponsor,
                kind=ContributionKind.SPONSORSHIP,
                occurred_at=started or timezone.now(),
                source=ContributionSource.GITHUB,
                external_id=f"sponsorship:{record.node_id}",
                title=f"Sponsors {sponsorable.login} ({record.tier_name})",
                metadata={"monthly_price_in_cents": record.monthly_price_in_cents},
            )
    return record


def contributor_is_sponsored(*, contributor: Contributor) -> bool:
    """Whether someone publicly sponsors this contributor (their sponsor page is linked)."""
    return Sponsorship.objects.filter(
        sponsorable=contributor,
        privacy_level="public",
        state__in=[Sponsorship.State.ACTIVE, Sponsorship.State.PENDING_CANCELLATION],
    ).exists()


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
