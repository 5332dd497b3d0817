"""Admin: Honour rolls, badges and awards."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from contrib.admin.base import HistoryInline
from contrib.badges import award_grant
from contrib.honor_rolls import Window, honor_roll_freeze
from contrib.models import (
    Award,
    Badge,
    HonorRoll,
    HonorRollEntry,
)


class HonorRollEntryInline(HistoryInline):
    model = HonorRollEntry
    fields = ("rank", "contributor", "score", "breakdown")


@admin.register(HonorRoll)
class HonorRollAdmin(admin.ModelAdmin[HonorRoll]):
    """Frozen rolls are immutable; a maintainer can recompute one explicitly (recorded)."""

    list_display = ["__str__", "period", "category", "frozen_at", "recompute_count"]
    list_filter = ["period", "category"]
    date_hierarchy = "starts_at"
    readonly_fields = [
        "period",
        "starts_at",
        "ends_at",
        "category",
        "rules",
        "frozen_at",
        "recomputed_at",
        "recomputed_by",
        "recompute_count",
    ]
    inlines = [HonorRollEntryInline]
    actions = ["recompute"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: HonorRoll | None = None) -> bool:
        return False

    @admin.action(
        description="Recompute with today's scoring rules (recorded)", permissions=["change"]
    )
    def recompute(self, request: HttpRequest, queryset: QuerySet[HonorRoll]) -> None:
        for roll in queryset:
            honor_roll_freeze(
                window=Window(roll.period, roll.starts_at, roll.ends_at),
                category=roll.category,
                recompute=True,
                user=request.user,  # type: ignore[arg-type]
            )
        self.message_user(request, f"{queryset.count()} rolls recomputed.", messages.SUCCESS)


@admin.register(Badge)
class BadgeAdmin(admin.ModelAdmin[Badge]):
    list_display = ["name", "slug", "periodic", "manual"]
    search_fields = ["name", "slug"]


@admin.register(Award)
class AwardAdmin(admin.ModelAdmin[Award]):
    """Maintainers award badges by hand here (with a citation); rule awards come from beat."""

    list_display = ["badge", "contributor", "period_key", "citation", "awarded_by", "awarded_at"]
    list_filter = ["badge", "period_key"]
    search_fields = ["contributor__login", "citation"]
    raw_id_fields = ["contributor"]
    fields = ["badge", "contributor", "period_key", "citation"]

    def get_readonly_fields(self, request: HttpRequest, obj: Award | None = None) -> Any:
        return self.fields if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Award, form: Any, change: bool) -> None:
        if change:
            return
        award, _created = award_grant(
            badge=obj.badge,
            contributor=obj.contributor,
            citation=obj.citation,
            awarded_by=request.user,  # type: ignore[arg-type]  # admin users are signed in
            period_key=obj.period_key,
        )
        obj.pk = award.pk
