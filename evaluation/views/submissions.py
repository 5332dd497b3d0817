"""Submissions: the list and its export, a submission's page and its buttons, the submit page
and the reference folder to start from."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseForbidden,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from contrib.errors import DomainError
from evaluation.contributing import contribution_guide, reference_archive
from evaluation.engine.specs import SPECS
from evaluation.exports import (
    SUBMISSION_FIELDS,
    export_response,
    submission_rows,
)
from evaluation.feeds import feed_url
from evaluation.forms import ConfigSubmissionForm, UploadSubmissionForm
from evaluation.models import EvaluationRun, Submission
from evaluation.policies import (
    submission_actions_for_user,
)
from evaluation.selectors import (
    baseline_runs_for,
    benchmark_choices,
    benchmark_get,
    benchmark_spec,
    benchmarks_open,
    queue_positions,
    submission_get,
    submissions_filtered,
)
from evaluation.services import (
    submission_approve,
    submission_cancel,
    submission_create_config,
    submission_create_upload,
    submission_rerun,
    submitter_terms,
)
from evaluation.uploads import MAX_UPLOAD_BYTES
from ui.charts import Line, legend, line_chart
from ui.params import page_choice, page_integer, page_text

Status = Submission.Status


def _curve(run: EvaluationRun) -> list[tuple[float, float]]:
    return [
        (float(p["bytes"]), float(p["loss"]))
        for p in run.loss_curve or []
        if isinstance(p, dict) and p.get("bytes") is not None and p.get("loss") is not None
    ]


def submissions(request: HttpRequest) -> HttpResponse:
    """Every submission, filtered by benchmark, status and author, with each queued one's place
    in its queue and estimated start."""
    wanted = _filters(request)
    number = page_integer(request.GET, "page") or 1
    page = Paginator(submissions_filtered(**wanted), 50).get_page(number)  # past the end: last
    places = queue_positions(page.object_list)
    context = {
        "page": page,
        "rows": [(s, places.get(s.pk)) for s in page.object_list],
        "wanted": wanted,
        "benchmarks": benchmark_choices(),
        "statuses": Submission.Status.choices,
        "query": urlencode({k: v for k, v in wanted.items() if v}),
        "feed": feed_url(request.user) if request.user.is_authenticated else "",
    }
    return render(request, "evaluation/submissions.html", context)


FILTERS = ("benchmark", "status", "contributor")
EXPORT_LIMIT = 100_000


def _filters(request: HttpRequest) -> dict[str, str]:
    """The list's filters; a wrong one is a 400 that names it (empty: not filtered)."""
    return {
        "benchmark": page_text(request.GET, "benchmark"),
        "status": page_choice(
            request.GET, "status", default="", choices=list(Submission.Status.values)
        ),
        "contributor": page_text(request.GET, "contributor"),
    }


def submissions_export(request: HttpRequest, kind: str) -> HttpResponse | StreamingHttpResponse:
    """The submissions list, with the page's filters, as CSV or JSON."""
    wanted = _filters(request)
    found = list(submissions_filtered(**wanted)[:EXPORT_LIMIT])
    rows = submission_rows(found, queue_positions(found))
    return export_response(rows, SUBMISSION_FIELDS, name="submissions", kind=kind)


def submission_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A submission's status, progress, loss curves against the baseline, logs and actions."""
    submission = submission_get(pk=pk)
    if submission is None:
        raise Http404("no such submission")
    every = list(submission.runs.all())  # newest attempt first
    runs = [run for run in every if run.attempt == submission.attempt]
    earlier: dict[int, list[EvaluationRun]] = {}
    for run in every:
        if run.attempt != submission.attempt:
            earlier.setdefault(run.attempt, []).append(run)
    baseline_runs = baseline_runs_for(submission=submission)
    lines = [Line(f"seed {run.seed}", _curve(run)) for run in runs if _curve(run)]
    lines += [Line(f"baseline seed {r.seed}", _curve(r), dashed=True) for r in baseline_runs]
    budget = sum(run.budget_bytes for run in runs)
    done = sum(run.progress_bytes for run in runs)
    running = next((r for r in runs if r.status == EvaluationRun.Status.RUNNING), None)
    widest = max((x for line in lines for x, _ in line.points), default=0.0)
    context = {
        "submission": submission,
        "runs": runs,
        "earlier": sorted(earlier.items(), reverse=True),
        "result_seeds": sum(
            1
            for run in every
            if run.attempt == submission.result_attempt and run.status == EvaluationRun.Status.OK
        ),
        "progress": done / budget if budget else None,
        "progress_bytes": done,
        "budget_bytes": budget,
        "current_loss": running.current_loss if running else None,
        "chart": line_chart(
            lines=lines,
            title=f"Training loss of submission #{submission.pk}'s seeds against the baseline "
            "(as reported by the submission)",
            x_label="training bytes (counted by the harness)",
            y_label="loss, nats per byte (reported)",
            x_ticks=[(0.0, "0"), (widest, f"{widest:,.0f}")],
        )
        if lines
        else None,
        "legend": legend([line.name for line in lines]) if lines else None,
        "with_baseline": bool(baseline_runs),
        "log_tail": next((r.log_tail for r in reversed(runs) if r.log_tail), ""),
        "actions": submission_actions_for_user(submission=submission, user=request.user),
        "live": submission.status in (Status.QUEUED, Status.RUNNING),
    }
    return render(request, "evaluation/submission.html", context)


ACTIONS = {
    "cancel": lambda s, user: submission_cancel(
        submission=s, reason=f"cancelled by {user.get_username()}"
    ),
    "approve": lambda s, user: submission_approve(submission=s, user=user),
    "rerun": lambda s, user: submission_rerun(submission=s),
}


@require_POST
def submission_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Cancel, approve or re-run, for the people allowed to (`evaluation.policies`)."""
    submission = submission_get(pk=pk)
    if submission is None or action not in ACTIONS:
        raise Http404("no such submission or action")
    if action not in submission_actions_for_user(submission=submission, user=request.user):
        return HttpResponseForbidden("You may not do that to this submission now.")
    try:
        ACTIONS[action](submission, request.user)
    except DomainError as exc:
        # Refused by the submission's state (it moved since the page was drawn): said on the
        # submission's own page, where the person was, rather than on the middleware's
        # refusal page (`contrib.middleware`) that other pages' domain errors get.
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            {
                "cancel": "Cancelled.",
                "approve": "Approved and queued.",
                "rerun": "Queued to run again.",
            }[action],
        )
    return redirect("submission", pk=pk)


@login_required
def submit(request: HttpRequest) -> HttpResponse:
    """Submit a config against the reference model; how to submit code by pull request."""
    benchmarks = list(benchmarks_open())
    chosen = request.POST.get("benchmark") or request.GET.get("benchmark")
    benchmark = next((b for b in benchmarks if b.slug == chosen), None)
    if benchmark is None and benchmarks:
        benchmark = benchmarks[0]
    form = upload = None
    uploading = request.method == "POST" and request.POST.get("kind") == "upload"
    if benchmark is not None and (benchmark.definition or benchmark.engine_spec in SPECS):
        data = request.POST if request.method == "POST" and not uploading else None
        form = ConfigSubmissionForm(data, benchmark=benchmark)
        upload = UploadSubmissionForm(
            request.POST if uploading else None,
            request.FILES if uploading else None,
            prefix="upload",  # its field ids apart from the config form's
        )
        if uploading and upload.is_valid():
            try:
                submission = submission_create_upload(
                    benchmark=benchmark,
                    archive=upload.cleaned_data["archive"].read(MAX_UPLOAD_BYTES + 1),
                    title=upload.cleaned_data["title"],
                    **submitter_terms(request.user, code=True),  # type: ignore[arg-type]
                )
            except ValidationError as exc:
                upload.add_service_errors(exc)
            else:
                return redirect("submission", pk=submission.pk)
        if request.method == "POST" and not uploading and form.is_valid():
            try:
                submission = submission_create_config(
                    benchmark=benchmark,
                    config=form.config(),
                    title=form.cleaned_data["title"],
                    **submitter_terms(request.user, code=False),  # type: ignore[arg-type]
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                return redirect("submission", pk=submission.pk)
    spec = benchmark_spec(benchmark).describe() if form is not None and benchmark else None
    context = {
        "benchmarks": benchmarks,
        "benchmark": benchmark,
        "form": form,
        "upload": upload,
        "spec": spec,
        "guide": contribution_guide(benchmark) if benchmark else None,
    }
    invalid = (form and form.errors) or (upload and upload.errors)
    return render(request, "evaluation/submit.html", context, status=400 if invalid else 200)


def benchmark_reference(request: HttpRequest, slug: str) -> HttpResponse:
    """The benchmark's reference submission folder, to start from (`.tar.gz`)."""
    benchmark = benchmark_get(slug=slug)
    if benchmark is None:
        raise Http404("no such benchmark")
    response = HttpResponse(reference_archive(benchmark), content_type="application/gzip")
    response["Content-Disposition"] = f'attachment; filename="{slug}-reference.tar.gz"'
    response["Cache-Control"] = "public, max-age=3600"
    return response
