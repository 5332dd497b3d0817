"""A submission (a config, an upload or a pull request's folder) and its runs, one per seed and
attempt."""

from django.conf import settings
from django.db import models

from contrib.models import Contributor, Repository
from evaluation.models.benchmarks import Benchmark


class Submission(models.Model):
    class Source(models.TextChoices):
        CONFIG = "config", "Config"
        PULL_REQUEST = "pull_request", "Pull request"
        COMMIT = "commit", "Commit"
        UPLOAD = "upload", "Upload"

    class Status(models.TextChoices):
        PENDING_APPROVAL = "pending_approval", "Waiting for a maintainer's approval"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SCORED = "scored", "Scored"
        # Trained on less than its whole byte budget (the training cap came first): scored as it
        # stood, never ranked, never a record, never credited.
        INCOMPLETE = "incomplete", "Incomplete: cut short"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        SUPERSEDED = "superseded", "Superseded by a newer commit"

    ALLOWED_TRANSITIONS: dict[str, set[str]] = {
        Status.PENDING_APPROVAL: {Status.QUEUED, Status.CANCELLED, Status.SUPERSEDED},
        # queued → scored: a standing result's extra seeds could not run; it stays as it was.
        # queued → pending approval: a maintainer parks it until someone approves it.
        Status.QUEUED: {
            Status.PENDING_APPROVAL,
            Status.RUNNING,
            Status.CANCELLED,
            Status.SUPERSEDED,
            Status.FAILED,
            Status.SCORED,
        },
        # running → queued: the reaper requeues a run whose worker died.
        Status.RUNNING: {
            Status.SCORED,
            Status.INCOMPLETE,
            Status.FAILED,
            Status.CANCELLED,
            Status.QUEUED,
        },
        # A maintainer may re-run a finished submission.
        Status.SCORED: {Status.QUEUED},
        Status.INCOMPLETE: {Status.QUEUED},
        Status.FAILED: {Status.QUEUED},
        Status.CANCELLED: {Status.QUEUED},
        Status.SUPERSEDED: set(),
    }
    ACTIVE = (Status.PENDING_APPROVAL, Status.QUEUED, Status.RUNNING)

    benchmark = models.ForeignKey(Benchmark, on_delete=models.PROTECT, related_name="submissions")
    benchmark_version = models.PositiveIntegerField(
        default=1, help_text="The benchmark's data version it was last queued on."
    )
    contributor = models.ForeignKey(
        Contributor,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="submissions",
        help_text="Empty for the platform's own baseline.",
    )
    source = models.CharField(max_length=20, choices=Source.choices)
    title = models.CharField(max_length=300, blank=True)
    repository = models.ForeignKey(Repository, null=True, blank=True, on_delete=models.SET_NULL)
    pr_number = models.PositiveIntegerField(null=True, blank=True)
    head_sha = models.CharField(max_length=40, blank=True)
    folder = models.CharField(
        max_length=300,
        blank=True,
        help_text="The submission's folder in the repository (code submissions).",
    )
    config = models.JSONField(default=dict, blank=True)
    archive_sha256 = models.CharField(
        max_length=64,
        blank=True,
        help_text="An uploaded folder: its checked archive in the platform's data store.",
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    reason = models.TextField(blank=True, help_text="Why it failed, was cancelled or superseded.")
    counts_for_quota = models.BooleanField(default=True)
    priority = models.BooleanField(
        default=False, help_text="A maintainer put it first in its queue."
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by_login = models.CharField(
        max_length=100, blank=True, help_text="The GitHub maintainer who approved it on GitHub."
    )
    mean_val_bpb = models.FloatField(null=True, blank=True)
    std_val_bpb = models.FloatField(null=True, blank=True)
    ci_val_bpb = models.FloatField(
        null=True, blank=True, help_text="Half width of the mean's 95 % confidence interval."
    )
    seeds_wanted = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Seeds to run when more than the benchmark's (a possible record, not yet "
        "significant).",
    )
    record_p_value = models.FloatField(
        null=True, blank=True, help_text="One-sided Welch p-value against the record holder."
    )
    record_note = models.CharField(
        max_length=500, blank=True, help_text="How it compared with the record, in words."
    )
    mean_test_bpb = models.FloatField(
        null=True,
        blank=True,
        help_text="On the benchmark's hidden test split: maintainers only until revealed.",
    )
    official = models.BooleanField(default=True)
    is_record = models.BooleanField(
        default=False, help_text="Beat every earlier scored submission of its benchmark."
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(
        null=True, blank=True, help_text="When its job was last sent to its queue's workers."
    )
    claimed_at = models.DateTimeField(
        null=True, blank=True, help_text="When a worker last took it from its queue."
    )
    claimed_by = models.ForeignKey(
        "Worker",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The worker that last took it: only it may start its seeds and finish it.",
    )
    claims = models.PositiveSmallIntegerField(
        default=0, help_text="How many times a worker took it (a lost worker's job is retaken)."
    )
    attempt = models.PositiveSmallIntegerField(
        default=1, help_text="Its current attempt: each re-run is a new one; earlier ones are kept."
    )
    result_attempt = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="The attempt whose complete result it shows (scores, rank, record): kept "
        "while a re-run runs, fails or is cancelled, until a newer complete one replaces it.",
    )
    only_on = models.CharField(
        max_length=100,
        blank=True,
        help_text="Runs only on workers of this device class (a baseline's re-run for that "
        "class, or a record holder's extra seeds where it ran).",
    )
    result_device = models.CharField(
        max_length=100, blank=True, help_text="The device class its shown result's seeds ran on."
    )
    record_pending = models.BooleanField(
        default=False,
        help_text="Better on average than the record but not yet significant: decided once the "
        "extra seeds (its own or the record holder's) are in.",
    )
    slow_requeues = models.PositiveSmallIntegerField(
        default=0,
        help_text="Times it was cut short on a worker too slow for its benchmark, and requeued.",
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["benchmark", "status"]),
            models.Index(fields=["repository", "pr_number"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.benchmark} {self.title or self.source}"


class EvaluationRun(models.Model):
    """One seed of a submission, as the worker trains and scores it."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        OK = "ok", "Scored"
        REJECTED = "rejected", "Rejected by the harness"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINISHED = (Status.OK, Status.REJECTED, Status.FAILED, Status.CANCELLED)

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="runs")
    attempt = models.PositiveSmallIntegerField(
        default=1, help_text="The submission's attempt (re-run) this seed belongs to."
    )
    seed = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Times a worker started this seed (a lost worker's is retaken)."
    )
    worker_host = models.CharField(max_length=200, blank=True)
    worker = models.ForeignKey(
        "Worker",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="runs",
        help_text="The worker that holds (or last held) this run: only it may write to it.",
    )
    device = models.CharField(max_length=100, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, db_index=True)
    progress_bytes = models.BigIntegerField(default=0)
    budget_bytes = models.BigIntegerField(default=0)
    current_loss = models.FloatField(null=True, blank=True)
    val_bits_per_byte = models.FloatField(null=True, blank=True)
    test_bits_per_byte = models.FloatField(
        null=True, blank=True, help_text="The hidden test split: maintainers only until revealed."
    )
    metrics = models.JSONField(default=dict, blank=True)
    loss_curve = models.JSONField(default=list, blank=True)
    log_tail = models.TextField(blank=True)
    exit_status = models.IntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["submission", "-attempt", "seed"]
        constraints = [
            models.UniqueConstraint(
                fields=["submission", "attempt", "seed"], name="run_unique_attempt_seed"
            )
        ]

    def __str__(self) -> str:
        return f"{self.submission} seed {self.seed}"
