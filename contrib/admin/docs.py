"""Admin: Community docs pages with their revision history."""

from django.contrib import admin
from django.http import HttpRequest

from contrib.admin.base import HistoryInline
from contrib.models import (
    DocPage,
    DocRevision,
)


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
