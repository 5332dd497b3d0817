"""The precomputed leaderboard: each contributor's best scored submission on a benchmark, ranked."""

from django.db import models

from contrib.models import Contributor
from evaluation.models.benchmarks import Benchmark
from evaluation.models.submissions import Submission


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
