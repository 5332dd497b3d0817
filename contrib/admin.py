"""Admin for every contrib model; actions call the same services as webhooks and commands."""

import uuid
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from contrib.badges import award_grant
from contrib.bounties import BountyError, bounty_create, bounty_transition
from contrib.contributors import contributors_merge, contributors_set_bot
from contrib.github.services import webhook_deliveries_reprocess
from contrib.honor_rolls import Window, honor_roll_freeze
from contrib.ledger import contribution_record
from contrib.models import (
    Award,
    Badge,
    BotCommand,
    Bounty,
    BountyEvent,
    Contribution,
    ContributionSource,
    Contributor,
    ContributorMerge,
    DocPage,
    DocRevision,
    GitHubAnswer,
    HonorRoll,
    HonorRollEntry,
    Identity,
    Issue,
    PullRequest,
    Repository,
    RepositorySync,
    ScoringRule,
    Sponsorship,
    WebhookDelivery,
)

admin.site.site_header = "Crucible administration"
admin.site.site_title = "Crucible"
admin.site.index_title = "Run the platform"


class HistoryInline(admin.TabularInline[Any, Any]):
    """A read-only record shown under its parent (roll entries, audit trails, revisions): no
    adding, editing or deleting here; the records only change through their services."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class IdentityInline(admin.TabularInline[Identity, Contributor]):
    model = Identity
    extra = 0
    fields = ["source", "username", "email", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(Contributor)
class ContributorAdmin(admin.ModelAdmin[Contributor]):
    list_display = ["login", "name", "github_id", "is_bot", "merged_into", "created_at"]
    # "GitHub id: empty" lists the pending identities (people known by a commit email only),
    # to merge into their account with the merge action.
    list_filter = [
        "is_bot",
        ("github_id", admin.EmptyFieldListFilter),
        ("merged_into", admin.EmptyFieldListFilter),
    ]
    search_fields = ["login", "name", "github_id", "identities__email"]
    readonly_fields = ["merged_into", "created_at", "updated_at"]
    raw_id_fields = ["user"]
    inlines = [IdentityInline]
    actions = ["merge_contributors", "mark_bot", "mark_human"]

    @admin.action(description="Merge selected contributors into one (the oldest GitHub account)")
    def merge_contributors(self, request: HttpRequest, queryset: QuerySet[Contributor]) -> None:
        people = sorted(
            queryset.filter(merged_into__isnull=True),
            key=lambda c: (c.github_id is None, c.pk),
        )
        if len(people) < 2:
            self.message_user(
                request, "Select at least two contributors to merge.", messages.WARNING
            )
            return
        target, sources = people[0], people[1:]
        for source in sources:
            contributors_merge(source=source, target=target, merged_by=request.user)  # type: ignore[arg-type]
        self.message_user(
            request,
            f"Merged {', '.join(map(str, sources))} into {target}.",
            messages.SUCCESS,
        )

    @admin.action(description="Mark selected as bots (left out of honours)")
    def mark_bot(self, request: HttpRequest, queryset: QuerySet[Contributor]) -> None:
        count = contributors_set_bot(contributor_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, f"{count} contributors marked as bots.", messages.SUCCESS)

    @admin.action(description="Mark selected as people (not bots)")
    def mark_human(self, request: HttpRequest, queryset: QuerySet[Contributor]) -> None:
        count = contributors_set_bot(
            contributor_ids=queryset.values_list("pk", flat=True), is_bot=False
        )
        self.message_user(request, f"{count} contributors marked as people.", messages.SUCCESS)


@admin.register(Identity)
class IdentityAdmin(admin.ModelAdmin[Identity]):
    list_display = ["contributor", "source", "username", "email", "created_at"]
    list_filter = ["source"]
    search_fields = ["username", "email", "contributor__login"]
    raw_id_fields = ["contributor"]


@admin.register(Repository)
class RepositoryAdmin(admin.ModelAdmin[Repository]):
    list_display = ["full_name", "role", "tracked", "github_id", "installation_id", "created_at"]
    list_filter = ["tracked", "role"]
    search_fields = ["full_name"]
    actions = ["create_webhook", "sync_now"]

    @admin.action(description="Create the webhook on GitHub (or show what to paste there)")
    def create_webhook(self, request: HttpRequest, queryset: QuerySet[Repository]) -> None:
        from contrib.github.answers import repository_webhook_create

        for repository in queryset:
            done, message = repository_webhook_create(repository=repository)
            self.message_user(request, message, messages.SUCCESS if done else messages.WARNING)

    @admin.action(description="Sync history from GitHub now (incremental)")
    def sync_now(self, request: HttpRequest, queryset: QuerySet[Repository]) -> None:
        from contrib.tasks import sync_repository

        ids = list(queryset.values_list("pk", flat=True))
        for repository_id in ids:
            sync_repository.delay(repository_id)
        self.message_user(request, f"{len(ids)} repository syncs queued.", messages.SUCCESS)


@admin.register(Contribution)
class ContributionAdmin(admin.ModelAdmin[Contribution]):
    """The ledger is append-only: rows can be added by hand (as `manual`) but not edited."""

    list_display = ["occurred_at", "contributor", "kind", "repository", "title", "source"]
    list_filter = ["kind", "source", "repository", "occurred_at"]
    search_fields = ["title", "external_id", "contributor__login"]
    date_hierarchy = "occurred_at"
    raw_id_fields = ["contributor"]
    list_select_related = ["contributor", "repository"]
    fields = ["contributor", "kind", "occurred_at", "repository", "title", "url", "metadata"]

    def get_readonly_fields(self, request: HttpRequest, obj: Contribution | None = None) -> Any:
        if obj is None:
            return []
        return [*self.fields, "source", "external_id", "recorded_at"]

    def has_delete_permission(self, request: HttpRequest, obj: Contribution | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Contribution, form: Any, change: bool) -> None:
        if change:
            return
        row, _created = contribution_record(
            contributor=obj.contributor,
            kind=obj.kind,
            occurred_at=obj.occurred_at,
            source=ContributionSource.MANUAL,
            external_id=f"admin:{uuid.uuid4()}",
            repository=obj.repository,
            title=obj.title,
            url=obj.url,
            metadata={**(obj.metadata or {}), "recorded_by": request.user.get_username()},
        )
        obj.pk = row.pk


@admin.register(ScoringRule)
class ScoringRuleAdmin(admin.ModelAdmin[ScoringRule]):
    list_display = ["kind", "points", "description", "updated_at"]
    list_editable = ["points"]


class _ItemAdmin(admin.ModelAdmin[Any]):
    list_display = ["__str__", "title", "state", "author", "created_at", "first_response_at"]
    list_filter = ["state", "repository"]
    search_fields = ["title", "number", "author__login"]
    raw_id_fields = ["author"]
    list_select_related = ["repository", "author"]


@admin.register(Issue)
class IssueAdmin(_ItemAdmin):
    pass


@admin.register(PullRequest)
class PullRequestAdmin(_ItemAdmin):
    list_display = [*_ItemAdmin.list_display, "merged_at"]


@admin.register(ContributorMerge)
class ContributorMergeAdmin(admin.ModelAdmin[ContributorMerge]):
    list_display = ["source", "target", "merged_by", "merged_at"]
    readonly_fields = ["source", "target", "merged_by", "moved", "merged_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin[WebhookDelivery]):
    list_display = ["delivery_id", "event", "action", "outcome", "attempts", "received_at"]
    list_filter = ["outcome", "event"]
    search_fields = ["delivery_id", "error"]
    date_hierarchy = "received_at"
    readonly_fields = [
        "delivery_id",
        "event",
        "action",
        "hook_id",
        "payload",
        "received_at",
        "processed_at",
        "outcome",
        "error",
        "attempts",
    ]
    actions = ["reprocess"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Reprocess selected deliveries")
    def reprocess(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        count = webhook_deliveries_reprocess(
            delivery_ids=queryset.values_list("delivery_id", flat=True)
        )
        self.message_user(request, f"{count} deliveries queued again.", messages.SUCCESS)


@admin.register(RepositorySync)
class RepositorySyncAdmin(admin.ModelAdmin[RepositorySync]):
    list_display = ["repository", "state", "synced_until", "items_done", "requests_made", "error"]
    list_filter = ["state"]
    readonly_fields = [f.name for f in RepositorySync._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(GitHubAnswer)
class GitHubAnswerAdmin(admin.ModelAdmin[GitHubAnswer]):
    """What the platform wrote back to GitHub; failed answers keep their error."""

    list_display = ["key", "kind", "repository", "target", "state", "attempts", "updated_at"]
    list_filter = ["state", "kind", "repository"]
    search_fields = ["key", "target", "error"]
    readonly_fields = [f.name for f in GitHubAnswer._meta.fields]
    actions = ["send_again"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Send selected answers again")
    def send_again(self, request: HttpRequest, queryset: QuerySet[GitHubAnswer]) -> None:
        from contrib.tasks import send_github_answer

        ids = list(queryset.values_list("pk", flat=True))
        GitHubAnswer.objects.filter(pk__in=ids).update(state=GitHubAnswer.State.PENDING, error="")
        for answer_id in ids:
            send_github_answer.delay(answer_id)
        self.message_user(request, f"{len(ids)} answers queued again.", messages.SUCCESS)


@admin.register(BotCommand)
class BotCommandAdmin(admin.ModelAdmin[BotCommand]):
    list_display = ["command", "author_login", "repository", "number", "state", "created_at"]
    list_filter = ["state", "repository"]
    search_fields = ["command", "author_login", "result"]
    readonly_fields = [f.name for f in BotCommand._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class HonorRollEntryInline(HistoryInline):
    model = HonorRollEntry
    fields = ("rank", "contributor", "score", "breakdown")


@admin.register(HonorRoll)
class HonorRollAdmin(admin.ModelAdmin[HonorRoll]):
    """Frozen rolls are immutable; a maintainer can recompute one explicitly (recorded)."""

    list_display = ["__str__", "period", "category", "frozen_at", "recompute_count"]
    list_filter = ["period", "category"]
    date_hierarchy = "starts_at"
    readonly_fields = [
        "period",
        "starts_at",
        "ends_at",
        "category",
        "rules",
        "frozen_at",
        "recomputed_at",
        "recomputed_by",
        "recompute_count",
    ]
    inlines = [HonorRollEntryInline]
    actions = ["recompute"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: HonorRoll | None = None) -> bool:
        return False

    @admin.action(description="Recompute with today's scoring rules (recorded)")
    def recompute(self, request: HttpRequest, queryset: QuerySet[HonorRoll]) -> None:
        for roll in queryset:
            honor_roll_freeze(
                window=Window(roll.period, roll.starts_at, roll.ends_at),
                category=roll.category,
                recompute=True,
                user=request.user,  # type: ignore[arg-type]
            )
        self.message_user(request, f"{queryset.count()} rolls recomputed.", messages.SUCCESS)


@admin.register(Badge)
class BadgeAdmin(admin.ModelAdmin[Badge]):
    list_display = ["name", "slug", "periodic", "manual"]
    search_fields = ["name", "slug"]


@admin.register(Award)
class AwardAdmin(admin.ModelAdmin[Award]):
    """Maintainers award badges by hand here (with a citation); rule awards come from beat."""

    list_display = ["badge", "contributor", "period_key", "citation", "awarded_by", "awarded_at"]
    list_filter = ["badge", "period_key"]
    search_fields = ["contributor__login", "citation"]
    raw_id_fields = ["contributor"]
    fields = ["badge", "contributor", "period_key", "citation"]

    def get_readonly_fields(self, request: HttpRequest, obj: Award | None = None) -> Any:
        return self.fields if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Award, form: Any, change: bool) -> None:
        if change:
            return
        award, _created = award_grant(
            badge=obj.badge,
            contributor=obj.contributor,
            citation=obj.citation,
            awarded_by=request.user,  # type: ignore[arg-type]  # admin users are signed in
            period_key=obj.period_key,
        )
        obj.pk = award.pk


class BountyEventInline(HistoryInline):
    model = BountyEvent
    fields = ("at", "from_state", "to_state", "actor", "note")


@admin.register(Bounty)
class BountyAdmin(admin.ModelAdmin[Bounty]):
    """Create bounties here; states move through the actions (audited), never by editing."""

    list_display = [
        "title",
        "issue",
        "amount_minor",
        "currency",
        "state",
        "claimed_by",
        "awarded_to",
        "created_at",
    ]
    list_filter = ["state", "currency"]
    search_fields = ["title", "funder", "claimed_by__login", "awarded_to__login"]
    raw_id_fields = ["issue"]
    fields = ["issue", "title", "amount_minor", "currency", "funder", "kind", "expires_at"]
    inlines = [BountyEventInline]
    actions = ["award", "pay", "cancel"]

    def get_readonly_fields(self, request: HttpRequest, obj: Bounty | None = None) -> Any:
        return self.fields if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Bounty, form: Any, change: bool) -> None:
        if change:
            return
        bounty = bounty_create(
            issue=obj.issue,
            title=obj.title,
            amount_minor=obj.amount_minor,
            currency=obj.currency,
            funder=obj.funder,
            kind=obj.kind,
            expires_at=obj.expires_at,
            user=request.user,  # type: ignore[arg-type]  # admin users are signed in
        )
        obj.pk = bounty.pk

    def _move(self, request: HttpRequest, queryset: QuerySet[Bounty], to: str) -> None:
        for bounty in queryset:
            try:
                bounty_transition(bounty=bounty, to=to, user=request.user)  # type: ignore[arg-type]
                self.message_user(request, f"{bounty}: {to}.", messages.SUCCESS)
            except BountyError as exc:
                self.message_user(request, f"{bounty}: {exc}", messages.WARNING)

    @admin.action(description="Award to the claimant")
    def award(self, request: HttpRequest, queryset: QuerySet[Bounty]) -> None:
        self._move(request, queryset, Bounty.State.AWARDED)

    @admin.action(description="Mark paid")
    def pay(self, request: HttpRequest, queryset: QuerySet[Bounty]) -> None:
        self._move(request, queryset, Bounty.State.PAID)

    @admin.action(description="Cancel")
    def cancel(self, request: HttpRequest, queryset: QuerySet[Bounty]) -> None:
        self._move(request, queryset, Bounty.State.CANCELLED)


@admin.register(Sponsorship)
class SponsorshipAdmin(admin.ModelAdmin[Sponsorship]):
    """Kept current by GitHub's webhooks; read-only here."""

    list_display = [
        "sponsor",
        "sponsorable",
        "tier_name",
        "monthly_price_in_cents",
        "state",
        "privacy_level",
        "started_at",
    ]
    list_filter = ["state", "privacy_level", "is_one_time"]
    search_fields = ["sponsor__login", "sponsorable__login"]

    def has_change_permission(self, request: HttpRequest, obj: Sponsorship | None = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class DocRevisionInline(HistoryInline):
    model = DocRevision
    fields = ("number", "title", "message", "author", "created_at")


@admin.register(DocPage)
class DocPageAdmin(admin.ModelAdmin[DocPage]):
    """Pages are edited through revisions (the API or the docs pages), so history is kept."""

    list_display = ["title", "slug", "updated_at"]
    search_fields = ["title", "slug"]
    readonly_fields = ["slug", "title", "created_at", "updated_at"]
    inlines = [DocRevisionInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
