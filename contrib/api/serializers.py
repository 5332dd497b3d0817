from typing import Any

from rest_framework import serializers

from contrib.docs import markdown_render
from contrib.models import (
    Award,
    Badge,
    Bounty,
    BountyEvent,
    Contribution,
    ContributionKind,
    Contributor,
    DocPage,
    DocRevision,
    Issue,
    PullRequest,
    Repository,
    Sponsorship,
)
from contrib.scores import count_field


class ContributorSummarySerializer(serializers.ModelSerializer[Contributor]):
    class Meta:
        model = Contributor
        fields = ["id", "github_id", "login", "name", "avatar_url", "is_bot"]


class ContributorSerializer(serializers.ModelSerializer[Contributor]):
    score = serializers.DecimalField(max_digits=14, decimal_places=3, read_only=True)
    contribution_count = serializers.IntegerField(read_only=True)
    counts = serializers.SerializerMethodField(help_text="Contributions per kind.")

    class Meta:
        model = Contributor
        fields = [
            "id",
            "github_id",
            "login",
            "name",
            "avatar_url",
            "bio",
            "company",
            "location",
            "blog",
            "is_bot",
            "score",
            "contribution_count",
            "counts",
            "created_at",
        ]

    def get_counts(self, contributor: Contributor) -> dict[str, int]:
        return {
            kind: getattr(contributor, count_field(kind), 0) for kind in ContributionKind.values
        }


class RepositorySerializer(serializers.ModelSerializer[Repository]):
    class Meta:
        model = Repository
        fields = ["id", "full_name", "github_id", "tracked", "role", "default_branch", "html_url"]


class ContributionSerializer(serializers.ModelSerializer[Contribution]):
    contributor = ContributorSummarySerializer(read_only=True)
    repository: serializers.SlugRelatedField[Repository] = serializers.SlugRelatedField(
        slug_field="full_name", read_only=True
    )

    class Meta:
        model = Contribution
        fields = [
            "id",
            "contributor",
            "repository",
            "kind",
            "occurred_at",
            "title",
            "url",
            "source",
            "external_id",
            "metadata",
            "recorded_at",
        ]


class _ItemSerializer(serializers.ModelSerializer[Any]):
    repository: serializers.SlugRelatedField[Repository] = serializers.SlugRelatedField(
        slug_field="full_name", read_only=True
    )
    author = ContributorSummarySerializer(read_only=True)
    first_response_seconds = serializers.SerializerMethodField()

    def get_first_response_seconds(self, item: Issue | PullRequest) -> float | None:
        delta = item.first_response_time
        return delta.total_seconds() if delta is not None else None


ITEM_FIELDS = [
    "id",
    "repository",
    "number",
    "title",
    "state",
    "author",
    "labels",
    "html_url",
    "created_at",
    "updated_at",
    "closed_at",
    "first_response_at",
    "first_response_seconds",
]


class IssueSerializer(_ItemSerializer):
    class Meta:
        model = Issue
        fields = ITEM_FIELDS


class PullRequestSerializer(_ItemSerializer):
    class Meta:
        model = PullRequest
        fields = [*ITEM_FIELDS, "merged_at", "head_sha", "head_ref", "base_ref", "draft"]


class HonorRollEntrySerializer(serializers.Serializer[Any]):
    rank = serializers.IntegerField()
    contributor = ContributorSummarySerializer()
    score = serializers.DecimalField(max_digits=14, decimal_places=3)
    breakdown = serializers.DictField(child=serializers.IntegerField())


class HonorRollSerializer(serializers.Serializer[Any]):
    period = serializers.CharField()
    category = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field, not Field.label
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(allow_null=True)
    frozen = serializers.BooleanField()
    frozen_at = serializers.DateTimeField(allow_null=True)
    recomputed_at = serializers.DateTimeField(allow_null=True)
    entries = HonorRollEntrySerializer(many=True)


class HealthSerializer(serializers.Serializer[Any]):
    period = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field, not Field.label
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    active_contributors = serializers.IntegerField()
    new_contributors = serializers.IntegerField()
    inactive_contributors = serializers.IntegerField()
    contributions = serializers.IntegerField()
    contributor_absence_factor = serializers.IntegerField()
    first_response_count = serializers.IntegerField()
    first_response_median_seconds = serializers.FloatField(allow_null=True)
    first_response_p90_seconds = serializers.FloatField(allow_null=True)
    change_requests_closed = serializers.IntegerField()
    change_requests_merged = serializers.IntegerField()
    change_request_acceptance_ratio = serializers.FloatField(allow_null=True)


class BadgeSerializer(serializers.ModelSerializer[Badge]):
    class Meta:
        model = Badge
        fields = ["slug", "name", "description", "periodic", "manual"]


class AwardSerializer(serializers.ModelSerializer[Award]):
    badge = BadgeSerializer(read_only=True)
    contributor = ContributorSummarySerializer(read_only=True)

    class Meta:
        model = Award
        fields = ["id", "badge", "contributor", "period_key", "citation", "awarded_at"]


class BountyEventSerializer(serializers.ModelSerializer[BountyEvent]):
    actor = serializers.CharField(source="actor.username", default=None, read_only=True)

    class Meta:
        model = BountyEvent
        fields = ["from_state", "to_state", "actor", "note", "at"]


class BountySerializer(serializers.ModelSerializer[Bounty]):
    issue_number = serializers.IntegerField(source="issue.number", read_only=True)
    repository = serializers.CharField(source="issue.repository.full_name", read_only=True)
    claimed_by = ContributorSummarySerializer(read_only=True)
    awarded_to = ContributorSummarySerializer(read_only=True)
    events = BountyEventSerializer(many=True, read_only=True)
    issue = serializers.PrimaryKeyRelatedField(queryset=Issue.objects.all(), write_only=True)

    class Meta:
        model = Bounty
        fields = [
            "id",
            "issue",
            "issue_number",
            "repository",
            "title",
            "amount_minor",
            "currency",
            "funder",
            "kind",
            "state",
            "claimed_by",
            "awarded_to",
            "expires_at",
            "awarded_at",
            "created_at",
            "events",
        ]
        read_only_fields = ["state", "awarded_at", "created_at"]


class BountyActionSerializer(serializers.Serializer[Any]):
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)
    winner = serializers.CharField(required=False, help_text="login, when awarding")


class DocRevisionSerializer(serializers.ModelSerializer[DocRevision]):
    author = serializers.CharField(source="author.username", default=None, read_only=True)

    class Meta:
        model = DocRevision
        fields = ["number", "title", "message", "author", "created_at"]


class DocPageSerializer(serializers.ModelSerializer[DocPage]):
    body = serializers.SerializerMethodField()
    html = serializers.SerializerMethodField(help_text="The body rendered and sanitised.")
    revision = serializers.SerializerMethodField()

    class Meta:
        model = DocPage
        fields = ["slug", "title", "revision", "body", "html", "created_at", "updated_at"]

    def _current(self, page: DocPage) -> DocRevision | None:
        return page.revisions.order_by("-number").first()

    def get_body(self, page: DocPage) -> str:
        current = self._current(page)
        return current.body if current else ""

    def get_html(self, page: DocPage) -> str:
        return markdown_render(text=self.get_body(page))

    def get_revision(self, page: DocPage) -> int | None:
        current = self._current(page)
        return current.number if current else None


class DocEditSerializer(serializers.Serializer[Any]):
    slug = serializers.SlugField(required=False)
    title = serializers.CharField(max_length=200)
    body = serializers.CharField(allow_blank=True, trim_whitespace=False)
    message = serializers.CharField(max_length=300, required=False, allow_blank=True)


class SponsorshipSerializer(serializers.ModelSerializer[Sponsorship]):
    sponsor = ContributorSummarySerializer(read_only=True)
    sponsorable = ContributorSummarySerializer(read_only=True)

    class Meta:
        model = Sponsorship
        fields = [
            "sponsor",
            "sponsorable",
            "state",
            "tier_name",
            "monthly_price_in_cents",
            "is_one_time",
            "pending_tier_name",
            "pending_effective_at",
            "started_at",
        ]
