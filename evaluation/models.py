"""Benchmarks, submissions, evaluation runs and the precomputed leaderboard.

Writes go through `evaluation.services`; status changes only through `submission_transition`,
which enforces `Submission.ALLOWED_TRANSITIONS`.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from contrib.models import Contributor, Repository


class Benchmark(models.Model):
    class Direction(models.TextChoices):
        LOWER = "lower", "Lower is better"
        HIGHER = "higher", "Higher is better"

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    engine_spec = models.CharField(
        max_length=50,
        help_text="Name of the engine's benchmark spec (python -m evaluation.engine list).",
    )
    metric_direction = models.CharField(
        max_length=10, choices=Direction.choices, default=Direction.LOWER
    )
    queue = models.CharField(
        max_length=50, default="gpu", help_text="Celery queue whose workers run it: gpu or cpu."
    )
    seeds = models.PositiveSmallIntegerField(default=3, help_text="Seeds per official result.")
    max_seeds = models.PositiveSmallIntegerField(
        default=8,
        validators=[MinValueValidator(1), MaxValueValidator(64)],
        help_text="Seeds a submission may run at most: better on average than the record but "
        "not yet significant, it runs more, up to this.",
    )
    record_p_value = models.FloatField(
        default=0.01,
        validators=[MinValueValidator(1e-9), MaxValueValidator(0.5)],
        help_text="A new record needs a one-sided Welch t-test p-value below this against the "
        "record holder's seeds.",
    )
    byte_budget = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="Fewer bytes than the spec's budget (demos, tests): results are unofficial.",
    )
    model_repository = models.ForeignKey(
        Repository, null=True, blank=True, on_delete=models.SET_NULL, related_name="benchmarks"
    )
    submission_path = models.CharField(
        max_length=200, blank=True, help_text="Folder of submissions in the model repository."
    )
    daily_quota = models.PositiveSmallIntegerField(
        default=5, help_text="Submissions per contributor per day."
    )
    active = models.BooleanField(default=True)
    practice = models.BooleanField(
        default=False,
        help_text="Its validation text is public (shipped or downloadable): results are for "
        "learning, and no records or record badges are awarded.",
    )
    definition = models.JSONField(
        default=dict,
        blank=True,
        help_text="Imported from a benchmark folder (manage.py benchmark_import): the settings "
        "and every data file's sha256. Empty for a benchmark of a shipped engine spec.",
    )
    test_revealed = models.BooleanField(
        default=False,
        help_text="Show the hidden test split's scores and ranking to everyone (they guard "
        "against tuning to the validation text; maintainers see them always).",
    )
    data_version = models.PositiveIntegerField(
        default=1,
        help_text="Goes up when the benchmark's data changes; results of different versions "
        "are never ranked together.",
    )
    baseline = models.ForeignKey(
        "Submission", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    baseline_results = models.JSONField(
        default=dict,
        blank=True,
        help_text="The baseline's latest complete result on each device class it ran on "
        "(re-run there periodically): deltas and record tests compare like with like.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


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


class Worker(models.Model):
    """A machine that trains and scores runs, attached with a worker token: it reaches the
    platform over its HTTP API (and its queues over the broker), never its database. Only a
    SHA-256 digest of the token is stored: the token is shown once."""

    name = models.CharField(max_length=100, unique=True)
    queues = models.JSONField(default=list, help_text="The benchmark queues it may take jobs of.")
    prefix = models.CharField(max_length=16, help_text="The first characters, to recognise it.")
    digest = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    host = models.CharField(max_length=200, blank=True, help_text="As the worker reports it.")
    devices = models.JSONField(default=list, blank=True, help_text="As the worker reports them.")
    jobs_done = models.PositiveIntegerField(default=0, help_text="Runs it finished.")
    calibration = models.JSONField(
        default=dict,
        blank=True,
        help_text="Per benchmark: the reference model's training bytes/s on this worker, as it "
        "measured them (at start, then at least daily).",
    )
    failures = models.PositiveIntegerField(default=0, help_text="Runs that failed on it.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class LeaderboardEntry(models.Model):
    """Precomputed when a result lands: each contributor's best scored submission, ranked."""

    benchmark = models.ForeignKey(Benchmark, on_delete=models.CASCADE, related_name="entries")
    contributor = models.ForeignKey(Contributor, on_delete=models.CASCADE, related_name="+")
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="+")
    attempt = models.PositiveSmallIntegerField(
        default=1, help_text="The submission's attempt whose result the row shows."
    )
    rank = models.PositiveIntegerField()
    mean_val_bpb = models.FloatField()
    std_val_bpb = models.FloatField(null=True, blank=True)
    ci_val_bpb = models.FloatField(
        null=True, blank=True, help_text="Half width of the mean's 95 % confidence interval."
    )
    tied = models.BooleanField(
        default=False,
        help_text="Its interval overlaps the one above it: the same rank, not an order by noise.",
    )
    delta_to_baseline = models.FloatField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["benchmark", "rank"]
        verbose_name_plural = "leaderboard entries"
        constraints = [
            models.UniqueConstraint(
                fields=["benchmark", "contributor"], name="leaderboard_one_row_per_contributor"
            )
        ]

    def __str__(self) -> str:
        return f"{self.benchmark} #{self.rank} {self.contributor}"
