"""Admin: Bounties and sponsorships."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from contrib.admin.base import HistoryInline
from contrib.bounties import BountyError, bounty_create, bounty_transition
from contrib.models import (
    Bounty,
    BountyEvent,
    Sponsorship,
)


class BountyEventInline(HistoryInline):
    model = BountyEvent
    fields = ("at", "from_state", "to_state", "actor", "note")


@admin.register(Bounty)
class BountyAdmin(admin.ModelAdmin[Bounty]):
    """Create bounties here; states move through the actions (audited), never by editing."""

    list_display = [
        "title",
        "issue",
        "amount_minor",
        "currency",
        "state",
        "claimed_by",
        "awarded_to",
        "created_at",
    ]
    list_filter = ["state", "currency"]
    search_fields = ["title", "funder", "claimed_by__login", "awarded_to__login"]
    raw_id_fields = ["issue"]
    fields = ["issue", "title", "amount_minor", "currency", "funder", "kind", "expires_at"]
    inlines = [BountyEventInline]
    actions = ["award", "pay", "cancel"]

    def get_readonly_fields(self, request: HttpRequest, obj: Bounty | None = None) -> Any:
        return self.fields if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Bounty, form: Any, change: bool) -> None:
        if change:
            return
        bounty = bounty_create(
            issue=obj.issue,
            title=obj.title,
            amount_minor=obj.amount_minor,
            currency=obj.currency,
            funder=obj.funder,
            kind=obj.kind,
            expires_at=obj.expires_at,
            user=request.user,  # type: ignore[arg-type]  # admin users are signed in
        )
        obj.pk = bounty.pk

    def _move(self, request: HttpRequest, queryset: QuerySet[Bounty], to: str) -> None:
        for bounty in queryset:
            try:
                bounty_transition(bounty=bounty, to=to, user=request.user)  # type: ignore[arg-type]
                self.message_user(request, f"{bounty}: {to}.", messages.SUCCESS)
            except BountyError as exc:
                self.message_user(request, f"{bounty}: {exc}", messages.WARNING)

    @admin.action(description="Award to the claimant", permissions=["change"])
    def award(self, request: HttpRequest, queryset: QuerySet[Bounty]) -> None:
        self._move(request, queryset, Bounty.State.AWARDED)

    @admin.action(description="Mark paid", permissions=["change"])
    def pay(self, request: HttpRequest, queryset: QuerySet[Bounty]) -> None:
        self._move(request, queryset, Bounty.State.PAID)

    @admin.action(description="Cancel", permissions=["change"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[Bounty]) -> None:
        self._move(request, queryset, Bounty.State.CANCELLED)


@admin.register(Sponsorship)
class SponsorshipAdmin(admin.ModelAdmin[Sponsorship]):
    """Kept current by GitHub's webhooks; read-only here."""

    list_display = [
        "sponsor",
        "sponsorable",
        "tier_name",
        "monthly_price_in_cents",
        "state",
        "privacy_level",
        "started_at",
    ]
    list_filter = ["state", "privacy_level", "is_one_time"]
    search_fields = ["sponsor__login", "sponsorable__login"]

    def has_change_permission(self, request: HttpRequest, obj: Sponsorship | None = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
