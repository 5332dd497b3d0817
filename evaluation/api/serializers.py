from collections.abc import Iterable
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contrib.api.serializers import ContributorSummarySerializer, StrictJSONTypes
from evaluation.engine.specs import SPECS
from evaluation.models import Benchmark, EvaluationRun, LeaderboardEntry, Submission


class BenchmarkSerializer(serializers.ModelSerializer[Benchmark]):
    spec = serializers.SerializerMethodField(help_text="Budget, limits, allowed config keys.")
    baseline_val_bpb = serializers.FloatField(
        source="baseline.mean_val_bpb", read_only=True, allow_null=True
    )

    class Meta:
        model = Benchmark
        fields = [
            "slug",
            "name",
            "description",
            "engine_spec",
            "metric_direction",
            "queue",
            "seeds",
            "max_seeds",
            "record_p_value",
            "daily_quota",
            "active",
            "baseline",
            "baseline_val_bpb",
            "spec",
        ]

    def get_spec(self, benchmark: Benchmark) -> dict[str, Any]:
        spec = SPECS.get(benchmark.engine_spec)
        return spec.describe() if spec else {}


class RunSerializer(serializers.ModelSerializer[EvaluationRun]):
    class Meta:
        model = EvaluationRun
        fields = [
            "attempt",
            "seed",
            "status",
            "attempts",
            "worker_host",
            "device",
            "heartbeat_at",
            "progress_bytes",
            "budget_bytes",
            "current_loss",
            "val_bits_per_byte",
            "loss_curve",
            "log_tail",
            "exit_status",
            "error",
            "started_at",
            "finished_at",
        ]


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


class SubmissionSerializer(StrictJSONTypes, serializers.ModelSerializer[Submission]):
    benchmark = serializers.SlugRelatedField(slug_field="slug", queryset=Benchmark.objects.all())
    contributor = ContributorSummarySerializer(
        read_only=True, allow_null=True, help_text="null for the platform's own baseline."
    )
    runs = RunSerializer(many=True, read_only=True)
    queue_position = serializers.SerializerMethodField(
        help_text="Queued: its place in its queue (1: next); otherwise null."
    )
    estimated_start = serializers.SerializerMethodField(
        help_text="Queued: when it should start (null until the queue has a job length and a "
        "worker); otherwise null."
    )
    config = serializers.JSONField(
        help_text="The benchmark's settings: see its `spec` for the keys, types and limits."
    )

    class Meta:
        model = Submission
        fields = [
            "id",
            "benchmark",
            "contributor",
            "source",
            "title",
            "pr_number",
            "head_sha",
            "folder",
            "config",
            "status",
            "reason",
            "queue_position",
            "estimated_start",
            "attempt",
            "result_attempt",
            "approved_by_login",
            "mean_val_bpb",
            "std_val_bpb",
            "ci_val_bpb",
            "official",
            "is_record",
            "record_p_value",
            "record_note",
            "created_at",
            "queued_at",
            "started_at",
            "finished_at",
            "runs",
        ]
        read_only_fields = [f for f in fields if f not in ("benchmark", "title", "config")]

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_queue_position(self, submission: Submission) -> int | None:
        place = self.context.get("places", {}).get(submission.pk)
        return None if place is None else int(place[0])

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_estimated_start(self, submission: Submission) -> str | None:
        place = self.context.get("places", {}).get(submission.pk)
        return None if place is None or place[1] is None else place[1].isoformat()

    def validate_config(self, config: Any) -> Any:
        # PostgreSQL's jsonb cannot hold a NUL character: refused here, not by the database.
        if _holds_nul(config):
            raise serializers.ValidationError("Null characters are not allowed.")
        return config


ENTRY_FIELDS = [
    "rank",
    "contributor",
    "submission",
    "mean_val_bpb",
    "std_val_bpb",
    "ci_val_bpb",
    "tied",
    "attempt",
    "delta_to_baseline",
    "updated_at",
]


class LeaderboardEntrySerializer(serializers.ModelSerializer[LeaderboardEntry]):
    contributor = ContributorSummarySerializer(read_only=True)
    submission: serializers.PrimaryKeyRelatedField[Submission] = serializers.PrimaryKeyRelatedField(
        read_only=True
    )

    class Meta:
        model = LeaderboardEntry
        fields = ENTRY_FIELDS


CONTRIBUTOR_SUMMARY = ContributorSummarySerializer.Meta.fields
# The columns `leaderboard_api_rows` reads: the entry's own, its submission's id, its author's.
ENTRY_VALUES = (
    *(f for f in ENTRY_FIELDS if f not in ("contributor", "submission")),
    "submission_id",
    *(f"contributor__{field}" for field in CONTRIBUTOR_SUMMARY),
)
_DATETIME = serializers.DateTimeField()


def leaderboard_api_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Leaderboard rows as `LeaderboardEntrySerializer` gives them, built from `ENTRY_VALUES`
    (`values()`): fifty nested serializers cost most of a read of the board. A test checks
    that both give the same JSON."""
    return [
        {
            **{field: row[field] for field in ENTRY_FIELDS if field in row},
            "contributor": {field: row[f"contributor__{field}"] for field in CONTRIBUTOR_SUMMARY},
            "submission": row["submission_id"],
            "updated_at": _DATETIME.to_representation(row["updated_at"]),
        }
        for row in rows
    ]
