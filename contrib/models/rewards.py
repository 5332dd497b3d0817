"""Rewards: bounties and their history, sponsorships."""

from django.conf import settings
from django.db import models

from contrib.models.ledger import ContributionKind
from contrib.models.people import Contributor
from contrib.models.repositories import Issue


class Bounty(models.Model):
    """Money offered for resolving an issue; moves only along ALLOWED_TRANSITIONS, audited."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        CLAIMED = "claimed", "Claimed"
        SUBMITTED = "submitted", "Work submitted"
        AWARDED = "awarded", "Awarded"
        PAID = "paid", "Paid"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"

    ALLOWED_TRANSITIONS: dict[str, set[str]] = {
        State.OPEN: {State.CLAIMED, State.CANCELLED, State.EXPIRED},
        State.CLAIMED: {State.SUBMITTED, State.OPEN, State.CANCELLED, State.EXPIRED},
        State.SUBMITTED: {State.AWARDED, State.CLAIMED, State.CANCELLED},
        State.AWARDED: {State.PAID},
        State.PAID: set(),
        State.CANCELLED: set(),
        State.EXPIRED: set(),
    }

    issue = models.ForeignKey(Issue, on_delete=models.PROTECT, related_name="bounties")
    title = models.CharField(max_length=300)
    amount_minor = models.PositiveBigIntegerField(help_text="In minor units: cents for USD.")
    currency = models.CharField(max_length=3, help_text="ISO 4217 code, e.g. USD, EUR.")
    funder = models.CharField(max_length=200, help_text="Who pays: a sponsor, the project…")
    kind = models.CharField(
        max_length=20,
        choices=ContributionKind.choices,
        default=ContributionKind.CODE,
        help_text="The kind of contribution recorded for the work when awarded.",
    )
    state = models.CharField(max_length=20, choices=State.choices, default=State.OPEN)
    claimed_by = models.ForeignKey(
        Contributor, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    awarded_to = models.ForeignKey(
        Contributor, null=True, blank=True, on_delete=models.PROTECT, related_name="bounties_won"
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    awarded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "bounties"

    def __str__(self) -> str:
        return f"{self.title} ({self.amount_minor / 100:.2f} {self.currency})"


class BountyEvent(models.Model):
    """The audit trail: who moved a bounty from which state to which, when."""

    bounty = models.ForeignKey(Bounty, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    note = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.bounty_id}: {self.from_state or '∅'} → {self.to_state}"


class Sponsorship(models.Model):
    """A GitHub Sponsors sponsorship, kept current from `sponsorship` webhooks. Private ones are
    never shown: the API lists public sponsorships only."""

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        PENDING_CANCELLATION = "pending_cancellation", "Ends at the end of the billing cycle"
        CANCELLED = "cancelled", "Cancelled"

    node_id = models.CharField(max_length=100, unique=True)
    sponsor = models.ForeignKey(Contributor, on_delete=models.PROTECT, related_name="sponsoring")
    sponsorable = models.ForeignKey(
        Contributor,
        on_delete=models.PROTECT,
        related_name="sponsored_by",
        help_text="The person or organisation sponsored (the project's account).",
    )
    privacy_level = models.CharField(max_length=20, default="public")
    state = models.CharField(max_length=30, choices=State.choices, default=State.ACTIVE)
    tier_name = models.CharField(max_length=200, blank=True)
    monthly_price_in_cents = models.PositiveIntegerField(default=0)
    is_one_time = models.BooleanField(default=False)
    pending_tier_name = models.CharField(max_length=200, blank=True)
    pending_monthly_price_in_cents = models.PositiveIntegerField(null=True, blank=True)
    pending_effective_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.sponsor} → {self.sponsorable} ({self.tier_name})"

    @property
    def is_public(self) -> bool:
        return self.privacy_level == "public"
