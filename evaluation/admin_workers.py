"""The admin's Workers page: attach a machine (its token shown once), see what each worker
does (last seen, devices, queues, runs done, failures), revoke one."""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from evaluation.models import Worker
from evaluation.services import worker_create, worker_revoke


class WorkerCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="To tell it apart: say whose and where.")
    queues = forms.CharField(
        max_length=500,
        initial="gpu",
        help_text="The benchmark queues it takes jobs from, separated by commas (gpu, cpu …).",
    )


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin[Worker]):
    list_display = [
        "name",
        "queue_list",
        "last_seen_at",
        "host",
        "device_list",
        "reference_speed",
        "jobs_done",
        "failures",
        "revoked_at",
    ]
    list_filter = ["revoked_at"]
    search_fields = ["name", "host", "prefix"]
    readonly_fields = [
        "name",
        "queues",
        "prefix",
        "created_by",
        "created_at",
        "revoked_at",
        "last_seen_at",
        "host",
        "devices",
        "reference_speed",
        "jobs_done",
        "failures",
    ]
    exclude = ["digest", "calibration"]
    actions = ["revoke"]

    @admin.display(description="Queues")
    def queue_list(self, worker: Worker) -> str:
        return ", ".join(worker.queues)

    @admin.display(description="Devices")
    def device_list(self, worker: Worker) -> str:
        return "; ".join(worker.devices) or "—"

    @admin.display(description="Reference model, bytes/s")
    def reference_speed(self, worker: Worker) -> str:
        """The reference model's training speed the worker measured, per benchmark."""
        timings = [
            f"{slug}: {timing.get('bytes_per_second', 0):,.0f}"
            for slug, timing in sorted((worker.calibration or {}).items())
            if isinstance(timing, dict)
        ]
        return "; ".join(timings) or "—"

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False if obj is not None else super().has_change_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) or super().has_change_permission(
            request, obj
        )

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        """Make a worker and show its token once, with the command that attaches a machine."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = WorkerCreateForm(request.POST or None)
        context = {
            **self.admin_site.each_context(request),
            "title": "Attach a worker",
            "opts": self.model._meta,
            "form": form,
        }
        if request.method == "POST" and form.is_valid():
            try:
                worker, key = worker_create(
                    name=form.cleaned_data["name"],
                    queues=form.cleaned_data["queues"].split(","),
                    created_by=request.user,
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                context |= {
                    "title": f"Worker {worker.name}",
                    "worker": worker,
                    "key": key,
                    "platform_url": settings.PLATFORM_URL,
                }
                return TemplateResponse(request, "admin/evaluation/worker/token.html", context)
        return TemplateResponse(request, "admin/evaluation/worker/add.html", context)

    @admin.action(description="Revoke the selected workers' tokens", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[Worker]) -> None:
        for worker in queryset:
            worker_revoke(worker=worker)
        self.message_user(
            request,
            f"{queryset.count()} worker(s) revoked: each stops at its next call; the runs they "
            "held go back to the queue.",
            messages.SUCCESS,
        )
