"""The admin site's titles and the shared read-only history inline."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

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
