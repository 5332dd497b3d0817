"""Admin: Contributors, identities, merges, the ledger and scoring rules."""

import uuid
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from contrib.contributors import contributors_merge, contributors_set_bot
from contrib.ledger import contribution_record
from contrib.models import (
    Contribution,
    ContributionSource,
    Contributor,
    ContributorMerge,
    Identity,
    ScoringRule,
)
from contrib.patterns import BURST_PER_HOUR, unusual_patterns


class IdentityInline(admin.TabularInline[Identity, Contributor]):
    model = Identity
    extra = 0
    fields = ["source", "username", "email", "created_at"]
    readonly_fields = ["created_at"]


class ContributorForm(forms.ModelForm[Contributor]):
    def clean(self) -> dict[str, Any]:
        """The database holds a login unique among GitHub accounts; the form says so first (the
        constraint's own check skips `merged_into`, a read-only field here)."""
        data = super().clean() or {}
        login, github_id = data.get("login") or "", data.get("github_id")
        if login and github_id and self.instance.merged_into_id is None:
            taken = (
                Contributor.objects.filter(
                    login__iexact=login, github_id__isnull=False, merged_into__isnull=True
                )
                .exclude(pk=self.instance.pk)
                .first()
            )
            if taken is not None:
                self.add_error("login", f"GitHub account {taken.github_id} holds this login.")
        return data


@admin.register(Contributor)
class ContributorAdmin(admin.ModelAdmin[Contributor]):
    form = ContributorForm
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

    @admin.action(
        description="Merge selected contributors into one (the oldest GitHub account)",
        permissions=["change"],
    )
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

    @admin.action(description="Mark selected as bots (left out of honours)", permissions=["change"])
    def mark_bot(self, request: HttpRequest, queryset: QuerySet[Contributor]) -> None:
        count = contributors_set_bot(contributor_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, f"{count} contributors marked as bots.", messages.SUCCESS)

    @admin.action(description="Mark selected as people (not bots)", permissions=["change"])
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

    change_list_template = "admin/contrib/contribution/change_list.html"

    def get_urls(self) -> list[URLPattern]:
        patterns = path(
            "patterns/",
            self.admin_site.admin_view(self.patterns_view),
            name="contrib_contribution_patterns",
        )
        return [patterns, *super().get_urls()]

    def patterns_view(self, request: HttpRequest) -> HttpResponse:
        """Unusual patterns (many small doc edits, reverts, bursts) of the last days."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            days = min(max(int(request.GET.get("days", 7)), 1), 90)
        except ValueError:
            days = 7
        context = {
            **self.admin_site.each_context(request),
            "title": "Unusual contribution patterns",
            "opts": self.model._meta,
            "days": days,
            "patterns": unusual_patterns(days=days),
            "burst_per_hour": BURST_PER_HOUR,
        }
        return TemplateResponse(request, "admin/contrib/contribution/patterns.html", context)

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


@admin.register(ContributorMerge)
class ContributorMergeAdmin(admin.ModelAdmin[ContributorMerge]):
    list_display = ["source", "target", "merged_by", "merged_at"]
    readonly_fields = ["source", "target", "merged_by", "moved", "merged_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
