"""Contributors, their identities, and merges of two records of one person."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower, Upper


class Contributor(models.Model):
    """A person (or bot) who contributes. The GitHub id is the stable key: logins change."""

    github_id = models.BigIntegerField(unique=True, null=True, blank=True)
    login = models.CharField(max_length=100, db_index=True, blank=True)
    name = models.CharField(max_length=200, blank=True)
    avatar_url = models.URLField(max_length=500, blank=True)
    bio = models.TextField(blank=True)
    company = models.CharField(max_length=200, blank=True)
    location = models.CharField(max_length=200, blank=True)
    blog = models.URLField(max_length=500, blank=True)
    is_bot = models.BooleanField(
        default=False, help_text="Bots stay in the ledger but are left out of honours."
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contributor",
    )
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_from",
        help_text="Set when this record was merged into another; it then owns nothing.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["login"]
        indexes = [
            # Logins are looked up case-insensitively (`login__iexact`, as GitHub treats them).
            models.Index(Upper("login"), name="contributor_login_upper"),
        ]
        constraints = [
            # A login is one GitHub account's at a time (GitHub compares them without case).
            models.UniqueConstraint(
                Lower("login"),
                condition=Q(github_id__isnull=False, merged_into__isnull=True) & ~Q(login=""),
                name="contributor_unique_github_login",
            ),
        ]

    def __str__(self) -> str:
        return self.login or self.name or f"contributor #{self.pk}"

    @property
    def github_url(self) -> str:
        return f"https://github.com/{self.login}" if self.login else ""


class Identity(models.Model):
    """One way a contributor shows up in data: a login on a source, or a commit email."""

    class Source(models.TextChoices):
        GITHUB = "github", "GitHub account"
        GIT = "git", "Git commit author"

    contributor = models.ForeignKey(
        Contributor, on_delete=models.CASCADE, related_name="identities"
    )
    source = models.CharField(max_length=20, choices=Source.choices)
    username = models.CharField(max_length=100, blank=True)
    email = models.EmailField(max_length=254, blank=True, help_text="Stored lower-cased.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "identities"
        constraints = [
            models.UniqueConstraint(
                fields=["source", "email"],
                condition=~Q(email=""),
                name="identity_unique_email_per_source",
            ),
            models.UniqueConstraint(
                fields=["source", "username"],
                condition=Q(email=""),
                name="identity_unique_username_per_source",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.email or self.username}"


class ContributorMerge(models.Model):
    """Audit record of `contributors_merge`: who was folded into whom, and what moved."""

    source = models.ForeignKey(Contributor, on_delete=models.PROTECT, related_name="+")
    target = models.ForeignKey(Contributor, on_delete=models.PROTECT, related_name="+")
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    moved = models.JSONField(default=dict)
    merged_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.source} → {self.target}"
