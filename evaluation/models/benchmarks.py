"""A benchmark: what is trained and scored, on which queue, and its baseline."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from contrib.models import Repository


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
