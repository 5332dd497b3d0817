"""Admin: Repositories, mirrors, and GitHub traffic: deliveries, syncs, answers, bot commands."""

import json
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from contrib.github.answers import github_answers_resend, repository_webhook_create
from contrib.github.backfill import repositories_sync_queue
from contrib.github.services import webhook_deliveries_reprocess
from contrib.models import (
    BotCommand,
    GitHubAnswer,
    Issue,
    PullRequest,
    Repository,
    RepositorySync,
    WebhookDelivery,
)
from contrib.wall import readme_wall_propose


@admin.register(Repository)
class RepositoryAdmin(admin.ModelAdmin[Repository]):
    list_display = ["full_name", "role", "tracked", "github_id", "installation_id", "created_at"]
    list_filter = ["tracked", "role"]
    search_fields = ["full_name"]
    actions = ["create_webhook", "sync_now", "update_contributors_wall"]

    @admin.action(
        description="Create the webhook on GitHub (or show what to paste there)",
        permissions=["change"],
    )
    def create_webhook(self, request: HttpRequest, queryset: QuerySet[Repository]) -> None:
        for repository in queryset:
            done, message = repository_webhook_create(repository=repository)
            self.message_user(request, message, messages.SUCCESS if done else messages.WARNING)

    @admin.action(
        description="Open a pull request updating the README's contributors wall",
        permissions=["change"],
    )
    def update_contributors_wall(
        self, request: HttpRequest, queryset: QuerySet[Repository]
    ) -> None:
        for repository in queryset:
            done, message = readme_wall_propose(repository=repository, site=settings.PLATFORM_URL)
            self.message_user(request, message, messages.SUCCESS if done else messages.WARNING)

    @admin.action(description="Sync history from GitHub now (incremental)", permissions=["change"])
    def sync_now(self, request: HttpRequest, queryset: QuerySet[Repository]) -> None:
        queued = repositories_sync_queue(repository_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{queued} repository syncs queued.", messages.SUCCESS)


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


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin[WebhookDelivery]):
    list_display = ["delivery_id", "event", "action", "outcome", "attempts", "received_at"]
    list_filter = ["outcome", "event"]
    search_fields = ["delivery_id", "error"]
    date_hierarchy = "received_at"
    exclude = ["payload"]  # shown as JSON below; a delivery is never edited
    readonly_fields = [
        "delivery_id",
        "event",
        "action",
        "hook_id",
        "payload_json",
        "received_at",
        "processed_at",
        "outcome",
        "error",
        "attempts",
    ]
    actions = ["reprocess"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="Payload")
    def payload_json(self, obj: WebhookDelivery) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2, ensure_ascii=False))

    @admin.action(description="Reprocess selected deliveries", permissions=["change"])
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

    @admin.action(description="Send selected answers again", permissions=["change"])
    def send_again(self, request: HttpRequest, queryset: QuerySet[GitHubAnswer]) -> None:
        count = github_answers_resend(answer_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} answers queued again.", messages.SUCCESS)


@admin.register(BotCommand)
class BotCommandAdmin(admin.ModelAdmin[BotCommand]):
    list_display = ["command", "author_login", "repository", "number", "state", "created_at"]
    list_filter = ["state", "repository"]
    search_fields = ["command", "author_login", "result"]
    readonly_fields = [f.name for f in BotCommand._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
