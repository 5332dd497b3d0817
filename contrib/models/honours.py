"""Honour rolls, badges and awards."""

from django.conf import settings
from django.db import models

from contrib.models.people import Contributor


class HonorRoll(models.Model):
    """A past period's honour roll, frozen: later rule changes do not rewrite it. A maintainer
    may recompute it explicitly; that is recorded here."""

    class Period(models.TextChoices):
        WEEK = "week", "Week"
        MONTH = "month", "Month"
        QUARTER = "quarter", "Quarter"
        YEAR = "year", "Year"
        ALL = "all", "All time"

    class Category(models.TextChoices):
        OVERALL = "overall", "Overall"
        CODE = "code", "Code"
        REVIEWS = "reviews", "Reviews"
        DOCS = "docs", "Documentation"
        DISCUSSION = "discussion", "Issues & discussion"
        EVALUATION = "evaluation", "Evaluation"

    period = models.CharField(max_length=10, choices=Period.choices)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    category = models.CharField(max_length=20, choices=Category.choices)
    rules = models.JSONField(default=dict, help_text="Points per kind used for this roll.")
    frozen_at = models.DateTimeField(auto_now_add=True)
    recomputed_at = models.DateTimeField(null=True, blank=True)
    recomputed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    recompute_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-starts_at", "period", "category"]
        constraints = [
            models.UniqueConstraint(
                fields=["period", "starts_at", "category"], name="honor_roll_unique_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_period_display()} from {self.starts_at:%Y-%m-%d}, {self.category}"


class HonorRollEntry(models.Model):
    roll = models.ForeignKey(HonorRoll, on_delete=models.CASCADE, related_name="entries")
    rank = models.PositiveIntegerField()
    contributor = models.ForeignKey(Contributor, on_delete=models.PROTECT, related_name="+")
    score = models.DecimalField(max_digits=14, decimal_places=3)
    breakdown = models.JSONField(default=dict, help_text="Contributions per kind.")

    class Meta:
        ordering = ["roll", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["roll", "contributor"], name="honor_entry_unique")
        ]

    def __str__(self) -> str:
        return f"#{self.rank} {self.contributor}"


class Badge(models.Model):
    """A recognition: earned by a rule over the ledger, or awarded by a maintainer."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300)
    periodic = models.BooleanField(
        default=False, help_text="Earned once per period (reviewer of the month…)."
    )
    manual = models.BooleanField(default=False, help_text="Only awarded by maintainers.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Award(models.Model):
    """A badge earned by a contributor, at most once per badge (and period, for periodic ones)."""

    badge = models.ForeignKey(Badge, on_delete=models.PROTECT, related_name="awards")
    contributor = models.ForeignKey(Contributor, on_delete=models.PROTECT, related_name="awards")
    period_key = models.CharField(
        max_length=20, blank=True, help_text="e.g. 2026-10 for a monthly badge; empty otherwise."
    )
    citation = models.CharField(max_length=500, blank=True)
    awarded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    awarded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-awarded_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["badge", "contributor", "period_key"], name="award_once_per_period"
            )
        ]

    def __str__(self) -> str:
        suffix = f" ({self.period_key})" if self.period_key else ""
        return f"{self.badge} → {self.contributor}{suffix}"
