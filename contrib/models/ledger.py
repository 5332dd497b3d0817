"""The contribution ledger: kinds, sources, rows, per-contributor tallies, scoring rules."""

from django.db import models
from django.db.models import Q

from contrib.models.people import Contributor
from contrib.models.repositories import Repository


class ContributionKind(models.TextChoices):
    """All Contributors' taxonomy where it fits, plus the platform's own `evaluation`."""

    CODE = "code", "Code"
    REVIEW = "review", "Review"
    BUG = "bug", "Bug report"
    DOC = "doc", "Documentation"
    QUESTION = "question", "Question"
    DISCUSSION = "discussion", "Discussion"
    TEST = "test", "Tests"
    INFRA = "infra", "Infrastructure"
    MAINTENANCE = "maintenance", "Maintenance"
    TRANSLATION = "translation", "Translation"
    MENTORING = "mentoring", "Mentoring"
    IDEAS = "ideas", "Ideas"
    EVALUATION = "evaluation", "Evaluation"
    SPONSORSHIP = "sponsorship", "Sponsorship"


class ContributionSource(models.TextChoices):
    GITHUB = "github", "GitHub webhook"
    SYNC = "sync", "GitHub backfill"
    MANUAL = "manual", "Recorded by a maintainer"
    PLATFORM = "platform", "The platform itself"


# Webhooks and backfills describe the same GitHub facts: they share one key space.


GITHUB_SOURCES = (ContributionSource.GITHUB, ContributionSource.SYNC)


class Contribution(models.Model):
    """One row of the append-only ledger. Scores, honours and badges derive from it."""

    contributor = models.ForeignKey(
        Contributor, on_delete=models.PROTECT, related_name="contributions"
    )
    repository = models.ForeignKey(
        Repository,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contributions",
    )
    kind = models.CharField(max_length=20, choices=ContributionKind.choices, db_index=True)
    occurred_at = models.DateTimeField(db_index=True)
    title = models.CharField(max_length=500, blank=True)
    url = models.URLField(max_length=1000, blank=True)
    source = models.CharField(max_length=20, choices=ContributionSource.choices)
    external_id = models.CharField(max_length=255)
    metadata = models.JSONField(default=dict, blank=True)
    areas = models.PositiveSmallIntegerField(
        default=0,
        help_text="Skill areas this row grows, a bit mask over contrib.skills.AREAS; set when "
        "it is recorded.",
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="contribution_unique_source_external_id"
            ),
            # A PR seen by a webhook and again by a backfill is still one contribution.
            models.UniqueConstraint(
                fields=["external_id"],
                condition=Q(source__in=["github", "sync"]),
                name="contribution_unique_github_external_id",
            ),
        ]
        indexes = [models.Index(fields=["contributor", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.kind} by {self.contributor} ({self.external_id})"


class ContributionTally(models.Model):
    """How many ledger rows a contributor has per (kind, areas), all time: their profile's score,
    counts and skills without reading the ledger. Incremented by `contribution_record` in the
    row's own transaction; `contribution_tallies_rebuild` recomputes it from the ledger."""

    # No index of its own: the unique constraint's index starts with the contributor.
    contributor = models.ForeignKey(
        Contributor, on_delete=models.CASCADE, related_name="tallies", db_index=False
    )
    kind = models.CharField(max_length=20, choices=ContributionKind.choices)
    areas = models.PositiveSmallIntegerField(help_text="Bit mask over contrib.skills.AREAS.")
    count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "contribution tallies"
        constraints = [
            # Also the index a profile reads its tallies through.
            models.UniqueConstraint(
                fields=["contributor", "kind", "areas"], name="contribution_tally_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.contributor_id}: {self.count} × {self.kind} ({self.areas:#b})"


class ScoringRule(models.Model):
    """Points per contribution kind. Scores are computed at query time from ledger × rules."""

    kind = models.CharField(max_length=20, choices=ContributionKind.choices, unique=True)
    points = models.DecimalField(max_digits=8, decimal_places=3)
    description = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-points", "kind"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.points}"
