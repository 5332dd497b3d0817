"""Contributors, their identities, repositories, the contribution ledger and GitHub mirrors.

Models hold fields, constraints and tiny derived properties; every write goes through
`contrib.services`.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper


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


class WebhookDelivery(models.Model):
    """A GitHub delivery as received, keyed by `X-GitHub-Delivery`, and what became of it."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored (event not mapped)"
        FAILED = "failed", "Failed"

    delivery_id = models.CharField(max_length=100, unique=True)
    event = models.CharField(max_length=100, db_index=True)
    action = models.CharField(max_length=100, blank=True)
    hook_id = models.BigIntegerField(null=True, blank=True)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(
        max_length=20, choices=Outcome.choices, default=Outcome.PENDING, db_index=True
    )
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-received_at"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        suffix = f".{self.action}" if self.action else ""
        return f"{self.event}{suffix} {self.delivery_id}"


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


class GitHubAnswer(models.Model):
    """Something the platform writes back to GitHub, and what became of it.

    One row per target (a commit status context on a SHA, the platform comment of a PR, a check
    run, a bot reply): sending again edits the same GitHub object, and a permanent failure stays
    here with its error rather than being lost.
    """

    class Kind(models.TextChoices):
        STATUS = "status", "Commit status"
        COMMENT = "comment", "Pull request comment"
        CHECK_RUN = "check_run", "Check run"
        REPLY = "reply", "Bot reply"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="answers")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    key = models.CharField(max_length=255, unique=True)
    target = models.CharField(max_length=100, help_text="A commit SHA or an issue/PR number.")
    payload = models.JSONField(default=dict)
    state = models.CharField(
        max_length=20, choices=State.choices, default=State.PENDING, db_index=True
    )
    revision = models.PositiveIntegerField(
        default=1, help_text="Bumped by every new payload; a send only completes its own."
    )
    github_id = models.BigIntegerField(null=True, blank=True)
    html_url = models.URLField(max_length=1000, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"{self.kind} on {self.repository}@{self.target} ({self.state})"


class BotCommand(models.Model):
    """A `@crucible …` command found in an issue or PR comment, and its outcome."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        REJECTED = "rejected", "Rejected"
        FAILED = "failed", "Failed"

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="commands")
    comment_id = models.BigIntegerField()
    number = models.PositiveIntegerField(help_text="The issue or pull request it was posted on.")
    line = models.PositiveSmallIntegerField(default=0)
    author_login = models.CharField(max_length=100)
    author_github_id = models.BigIntegerField(null=True, blank=True)
    command = models.CharField(max_length=500)
    comment_url = models.URLField(max_length=1000, blank=True)
    state = models.CharField(
        max_length=20, choices=State.choices, default=State.PENDING, db_index=True
    )
    result = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["comment_id", "line"], name="bot_command_unique_line")
        ]

    def __str__(self) -> str:
        return f"{self.command!r} by {self.author_login} ({self.state})"


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


class DocPage(models.Model):
    """A community documentation page; its text lives in its revisions (the newest is current)."""

    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class DocRevision(models.Model):
    page = models.ForeignKey(DocPage, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField(help_text="Markdown.")
    message = models.CharField(max_length=300, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["page", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["page", "number"], name="doc_revision_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.page.slug} r{self.number}"


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
