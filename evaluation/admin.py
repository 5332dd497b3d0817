"""Admin for evaluation; actions call the same services as the API and the tasks."""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from contrib.admin.base import HistoryInline
from contrib.errors import DomainError
from evaluation.models import Benchmark, EvaluationRun, LeaderboardEntry, Submission
from evaluation.services import (
    benchmark_import_archive,
    benchmark_reveal_test,
    leaderboard_recompute,
    submission_approve,
    submission_cancel,
    submission_hold,
    submission_prioritise,
    submission_rerun,
)


class BenchmarkImportForm(forms.Form):
    archive = forms.FileField(
        help_text="A .tar.gz of one benchmark folder (benchmark.toml and its data files)."
    )
    update = forms.BooleanField(
        required=False,
        help_text="Change the existing benchmark of that slug (new data: a new version).",
    )


@admin.register(Benchmark)
class BenchmarkAdmin(admin.ModelAdmin[Benchmark]):
    list_display = [
        "slug",
        "name",
        "engine_spec",
        "queue",
        "seeds",
        "practice",
        "data_version",
        "active",
        "baseline",
    ]
    list_filter = ["active", "practice", "queue", "engine_spec"]
    search_fields = ["slug", "name"]
    raw_id_fields = ["baseline", "model_repository"]
    readonly_fields = ["definition", "data_version"]
    actions = ["recompute_leaderboard", "reveal_test_ranking"]
    change_list_template = "admin/evaluation/benchmark/change_list.html"

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.import_view)
        return [path("import/", view, name="evaluation_benchmark_import"), *super().get_urls()]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Import a benchmark folder uploaded as .tar.gz (the same service as the command)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = BenchmarkImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["archive"]
            if upload.size > settings.BENCHMARK_UPLOAD_MAX_BYTES:
                form.add_error("archive", "larger than BENCHMARK_UPLOAD_MAX_BYTES")
            else:
                try:
                    outcome = benchmark_import_archive(
                        data=upload.read(), update=form.cleaned_data["update"]
                    )
                except ValidationError as exc:
                    form.add_error("archive", "; ".join(exc.messages))
                else:
                    benchmark = outcome.benchmark
                    self.message_user(
                        request,
                        f"Benchmark {benchmark.slug} imported (data version "
                        f"{benchmark.data_version}, {outcome.stored_files} files stored).",
                        messages.SUCCESS,
                    )
                    return redirect("admin:evaluation_benchmark_change", benchmark.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": "Import a benchmark folder",
            "opts": self.model._meta,
            "form": form,
        }
        return TemplateResponse(request, "admin/evaluation/benchmark/import.html", context)

    @admin.action(description="Reveal the hidden test ranking", permissions=["change"])
    def reveal_test_ranking(self, request: HttpRequest, queryset: QuerySet[Benchmark]) -> None:
        for benchmark in queryset:
            benchmark_reveal_test(benchmark=benchmark)
        self.message_user(request, "The test ranking is now public.", messages.SUCCESS)

    @admin.action(description="Recompute the leaderboard", permissions=["change"])
    def recompute_leaderboard(self, request: HttpRequest, queryset: QuerySet[Benchmark]) -> None:
        for benchmark in queryset:
            leaderboard_recompute(benchmark=benchmark)
        self.message_user(request, "Leaderboards recomputed.", messages.SUCCESS)


RUN_FIELDS = (
    "seed",
    "status",
    "attempts",
    "worker_host",
    "device",
    "heartbeat_at",
    "progress_bytes",
    "val_bits_per_byte",
    "error",
)


class RunInline(HistoryInline):
    model = EvaluationRun
    fields = RUN_FIELDS


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin[Submission]):
    list_display = [
        "id",
        "benchmark",
        "contributor",
        "source",
        "status",
        "score",
        "is_record",
        "created_at",
    ]
    list_filter = ["status", "source", "benchmark", "is_record"]
    search_fields = ["title", "contributor__login", "head_sha"]
    raw_id_fields = ["contributor", "repository", "approved_by"]
    readonly_fields = [
        "status",
        "reason",
        "mean_val_bpb",
        "std_val_bpb",
        "queued_at",
        "started_at",
        "finished_at",
        "approved_by",
        "approved_by_login",
        "is_record",
    ]
    list_select_related = ["benchmark", "contributor"]
    inlines = [RunInline]
    actions = ["approve", "hold", "cancel", "rerun", "prioritise"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A submission comes to exist through `submission_create` only (its queueing, quota
        # and GitHub status); the admin acts on submissions, it does not make them.
        return False

    def _apply(
        self,
        request: HttpRequest,
        queryset: QuerySet[Submission],
        service: Any,
        verb: str,
        **kwargs: Any,
    ) -> None:
        done, refused = 0, []
        for submission in queryset:
            try:
                service(submission=submission, **kwargs)
                done += 1
            except DomainError as exc:
                refused.append(exc.message)
        self.message_user(request, f"{done} submissions {verb}.", messages.SUCCESS)
        for reason in refused:
            self.message_user(request, reason, messages.WARNING)

    @admin.action(description="Approve (let the code run)", permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet[Submission]) -> None:
        self._apply(request, queryset, submission_approve, "approved", user=request.user)

    @admin.display(description="val bpb", ordering="mean_val_bpb")
    def score(self, submission: Submission) -> str:
        if submission.mean_val_bpb is None:
            return "—"
        interval = f" ± {submission.ci_val_bpb:.4f}" if submission.ci_val_bpb is not None else ""
        return f"{_bpb(submission.mean_val_bpb)}{interval}"

    @admin.action(description="Hold for approval (look at the code first)", permissions=["change"])
    def hold(self, request: HttpRequest, queryset: QuerySet[Submission]) -> None:
        self._apply(request, queryset, submission_hold, "held for approval")

    @admin.action(description="Cancel", permissions=["change"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[Submission]) -> None:
        self._apply(
            request,
            queryset,
            submission_cancel,
            "cancelled",
            reason=f"cancelled by {request.user.get_username()}",
        )

    @admin.action(description="Run again", permissions=["change"])
    def rerun(self, request: HttpRequest, queryset: QuerySet[Submission]) -> None:
        self._apply(request, queryset, submission_rerun, "queued again")

    @admin.action(
        description="Put first in its queue (maintainer priority)", permissions=["change"]
    )
    def prioritise(self, request: HttpRequest, queryset: QuerySet[Submission]) -> None:
        self._apply(request, queryset, submission_prioritise, "put first in their queues")


def _bpb(value: float | None, *, signed: bool = False) -> str:
    """Bits per byte as people read them: four decimals, not a raw float."""
    if value is None:
        return "—"
    return f"{value:+.4f}" if signed else f"{value:.4f}"


@admin.register(LeaderboardEntry)
class LeaderboardEntryAdmin(admin.ModelAdmin[LeaderboardEntry]):
    list_display = ["benchmark", "rank", "contributor", "score", "delta"]
    list_filter = ["benchmark"]
    readonly_fields = [
        "benchmark",
        "contributor",
        "submission",
        "rank",
        "mean_val_bpb",
        "std_val_bpb",
        "delta_to_baseline",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="val bpb", ordering="mean_val_bpb")
    def score(self, entry: LeaderboardEntry) -> str:
        interval = f" ± {entry.ci_val_bpb:.4f}" if entry.ci_val_bpb is not None else ""
        return f"{_bpb(entry.mean_val_bpb)}{interval}{' (tied)' if entry.tied else ''}"

    @admin.display(description="Δ baseline", ordering="delta_to_baseline")
    def delta(self, entry: LeaderboardEntry) -> str:
        return _bpb(entry.delta_to_baseline, signed=True)


from evaluation import admin_workers  # noqa: E402,F401 - registers the Workers page
