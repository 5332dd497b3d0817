"""Repositories and the mirrors of their issues and pull requests."""

from datetime import timedelta

from django.db import models

from contrib.models.people import Contributor


class Repository(models.Model):
    class Role(models.TextChoices):
        MODEL = "model", "Model"
        DOCS = "docs", "Documentation"
        OTHER = "other", "Other"

    full_name = models.CharField(max_length=200, unique=True, help_text="owner/name")
    github_id = models.BigIntegerField(unique=True, null=True, blank=True)
    tracked = models.BooleanField(default=True)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.OTHER)
    default_branch = models.CharField(max_length=200, default="main")
    installation_id = models.BigIntegerField(
        null=True, blank=True, help_text="GitHub App installation that covers this repository."
    )
    docs_paths = models.JSONField(
        default=list,
        blank=True,
        help_text="Glob patterns of documentation files; empty means the platform's defaults.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["full_name"]
        verbose_name_plural = "repositories"

    def __str__(self) -> str:
        return self.full_name

    @property
    def html_url(self) -> str:
        return f"https://github.com/{self.full_name}"


class GitHubItem(models.Model):
    """Fields shared by the issue and pull request mirrors."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE)
    number = models.PositiveIntegerField()
    github_id = models.BigIntegerField(null=True, blank=True)
    title = models.CharField(max_length=500, blank=True)
    state = models.CharField(max_length=20, default="open", db_index=True)
    author = models.ForeignKey(Contributor, null=True, blank=True, on_delete=models.SET_NULL)
    labels = models.JSONField(default=list, blank=True)
    html_url = models.URLField(max_length=1000, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="First comment or review by someone other than the author, bots excluded.",
    )
    first_responder = models.ForeignKey(
        Contributor, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.repository}#{self.number}"

    @property
    def first_response_time(self) -> timedelta | None:
        if self.first_response_at is None or self.created_at is None:
            return None
        return self.first_response_at - self.created_at


class Issue(GitHubItem):
    class Meta(GitHubItem.Meta):
        default_related_name = "issues"
        constraints = [
            models.UniqueConstraint(fields=["repository", "number"], name="issue_unique_number")
        ]


class PullRequest(GitHubItem):
    merged_at = models.DateTimeField(null=True, blank=True)
    head_sha = models.CharField(max_length=40, blank=True)
    head_ref = models.CharField(max_length=255, blank=True)
    base_ref = models.CharField(max_length=255, blank=True)
    draft = models.BooleanField(default=False)

    class Meta(GitHubItem.Meta):
        default_related_name = "pull_requests"
        constraints = [
            models.UniqueConstraint(fields=["repository", "number"], name="pr_unique_number")
        ]

    @property
    def merged(self) -> bool:
        return self.merged_at is not None


class RepositorySync(models.Model):
    """Where the backfill of one repository stands: the cursor of a run, and the last good one.

    `cursor` names the phase and the next page of the run in progress, so an interrupted run
    resumes there; `synced_until` is when the last complete run started, the `since` of the next.
    """

    class State(models.TextChoices):
        IDLE = "idle", "Never run"
        RUNNING = "running", "Running (or interrupted)"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    repository = models.OneToOneField(Repository, on_delete=models.CASCADE, related_name="sync")
    state = models.CharField(max_length=20, choices=State.choices, default=State.IDLE)
    synced_until = models.DateTimeField(
        null=True, blank=True, help_text="Start of the last complete run: the next run's since."
    )
    run_started_at = models.DateTimeField(null=True, blank=True)
    run_since = models.DateTimeField(null=True, blank=True)
    cursor = models.JSONField(default=dict, blank=True)
    requests_made = models.PositiveIntegerField(default=0)
    items_done = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last progress of the running run; stale ones may resume."
    )
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = "repository sync"

    def __str__(self) -> str:
        return f"sync of {self.repository} ({self.state})"
