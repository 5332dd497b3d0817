from typing import Any

from django.utils.text import slugify
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

SLUG_MAX_LENGTH = DocPage._meta.get_field("slug").max_length or 50


_TEXT_FIELDS = (
    serializers.CharField,
    serializers.ChoiceField,
    serializers.DateTimeField,
    serializers.DateField,
    serializers.SlugRelatedField,
)


def _body_value_error(
    field: serializers.Field[Any, Any, Any, Any], value: Any, *, json: bool
) -> str | None:
    """Why a body's `value` is not what the schema allows for `field`: of its JSON type (a
    form sends only strings), and text without a NUL character."""
    if value is None:  # whether null is allowed is the field's own check
        return None
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if json and isinstance(field, serializers.BooleanField) and not isinstance(value, bool):
        return "Must be true or false."
    integer_fields = (serializers.IntegerField, serializers.PrimaryKeyRelatedField)
    if json and isinstance(field, integer_fields) and not (is_number and isinstance(value, int)):
        return "Must be an integer."
    number_fields = (serializers.FloatField, serializers.DecimalField)
    if json and isinstance(field, number_fields) and not is_number:
        return "Must be a number."
    if json and isinstance(field, _TEXT_FIELDS) and not isinstance(value, str):
        return "Must be a string."
    if isinstance(field, _TEXT_FIELDS) and isinstance(value, str) and "\x00" in value:
        # PostgreSQL can neither store nor compare one; DRF checks only its CharField.
        return "Null characters are not allowed."
    return None


# A JSON body's values must have the JSON type the schema gives them: DRF alone takes `"5"` for
# an integer, `5` for a string and `"yes"` for a boolean. A form (the browsable API's) sends
# only strings, so DRF's own parsing reads those. (A comment, not a docstring: the schema
# would show it as the description of every body built on this class.)
class StrictJSONTypes(serializers.Serializer[Any]):
    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "get"):
            json = not hasattr(data, "getlist")  # a QueryDict is a form
            errors: dict[str, Any] = {}
            for field in self._writable_fields:
                error = _body_value_error(field, data.get(field.field_name), json=json)
                if error:
                    errors[str(field.field_name)] = [error]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


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
        slug_field="full_name",
        read_only=True,
        allow_null=True,  # a sponsorship has none
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
    author = ContributorSummarySerializer(read_only=True, allow_null=True)
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
    actor = serializers.CharField(
        source="actor.username", default=None, read_only=True, allow_null=True
    )

    class Meta:
        model = BountyEvent
        fields = ["from_state", "to_state", "actor", "note", "at"]


class BountySerializer(StrictJSONTypes, serializers.ModelSerializer[Bounty]):
    issue_number = serializers.IntegerField(source="issue.number", read_only=True)
    repository = serializers.CharField(source="issue.repository.full_name", read_only=True)
    claimed_by = ContributorSummarySerializer(read_only=True, allow_null=True)
    awarded_to = ContributorSummarySerializer(read_only=True, allow_null=True)
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


class BountyActionSerializer(StrictJSONTypes):
    """The body of a bounty's move (claim, submit, unclaim, pay, cancel)."""

    note = serializers.CharField(required=False, allow_blank=True, max_length=500)


class BountyAwardSerializer(BountyActionSerializer):
    """The body of `award/`; without a winner, the one who claimed the bounty wins it."""

    winner = serializers.CharField(required=False, help_text="The winner's login.")


class DocRevisionSerializer(serializers.ModelSerializer[DocRevision]):
    author = serializers.CharField(
        source="author.username", default=None, read_only=True, allow_null=True
    )

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


class DocEditSerializer(StrictJSONTypes):
    slug = serializers.SlugField(
        required=False,
        max_length=SLUG_MAX_LENGTH,
        help_text="The page's address (default: from the title).",
    )
    title = serializers.CharField(max_length=200)
    body = serializers.CharField(allow_blank=True, trim_whitespace=False)
    message = serializers.CharField(max_length=300, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # The page's address comes from the title when no slug is given; it must fit the
        # database's column, or PostgreSQL refuses the row.
        if not attrs.get("slug") and len(slugify(attrs["title"])) > SLUG_MAX_LENGTH:
            raise serializers.ValidationError(
                {
                    "title": [
                        f"the address made from this title is longer than {SLUG_MAX_LENGTH} "
                        "characters: give a shorter title or a slug"
                    ]
                }
            )
        return attrs


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


class DocDiffSerializer(serializers.Serializer[Any]):
    diff = serializers.CharField(help_text="A unified diff from one revision to the other.")


class SkillSerializer(serializers.Serializer[Any]):
    area = serializers.CharField()
    contributions = serializers.IntegerField()
    level = serializers.IntegerField()
    next_milestone = serializers.IntegerField(allow_null=True)
    progress = serializers.FloatField(help_text="From 0 to 1: the way to the next milestone.")


class ContributorProfileSerializer(ContributorSerializer):
    """What `contributors/<login>/profile/` answers (the view fills it from the tallies)."""

    skills = SkillSerializer(many=True)
    awards = AwardSerializer(many=True)

    class Meta(ContributorSerializer.Meta):
        fields = [*ContributorSerializer.Meta.fields, "skills", "awards"]
