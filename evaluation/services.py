"""Business actions of evaluation: submissions and their states, running the engine, the
leaderboard. Every caller (API, admin, tasks, commands) goes through these functions.

The engine runs as a subprocess (`python -m evaluation.engine run …`): the platform never imports
training code, and the engine's sandbox keeps submission code away from the platform.
"""

import contextlib
import json
import logging
import os
import queue
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from contrib.badges import award_grant, badges_ensure
from contrib.github.answers import commit_status_set, pull_request_comment_set
from contrib.models import ContributionKind, ContributionSource, Contributor
from contrib.services import contribution_record
from evaluation.archive import Limits, UnsafeArchive, extract_folder
from evaluation.engine.specs import SPECS, validate_config
from evaluation.models import Benchmark, EvaluationRun, LeaderboardEntry, Submission

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
Status = Submission.Status
RunStatus = EvaluationRun.Status
PROGRESS_LINE = re.compile(r"bytes\s+([\d,]+)\s*\|\s*loss\s+([-\d.naif]+)", re.IGNORECASE)
LOG_TAIL_CHARS = 8000


class TransitionError(ValueError):
    """A status change that the submission's state machine does not allow."""


def submission_transition(
    *, submission: Submission, to: str, reason: str = "", save: bool = True
) -> Submission:
    """Move a submission to `to` if its state machine allows it; refuse otherwise."""
    allowed = Submission.ALLOWED_TRANSITIONS[submission.status]
    if to not in allowed:
        raise TransitionError(
            f"submission #{submission.pk} cannot go from {submission.status} to {to}"
        )
    now = timezone.now()
    submission.status = to
    if reason or to in (Status.QUEUED, Status.RUNNING, Status.SCORED):
        submission.reason = reason
    if to == Status.QUEUED:
        submission.queued_at = now
        submission.finished_at = None
    elif to == Status.RUNNING:
        submission.started_at = submission.started_at or now
    elif to in (Status.SCORED, Status.FAILED, Status.CANCELLED, Status.SUPERSEDED):
        submission.finished_at = now
    if save:
        submission.save()
    return submission


def _enqueue(submission: Submission) -> None:
    from evaluation.tasks import evaluate_submission

    queue_name = submission.benchmark.queue
    transaction.on_commit(
        lambda: evaluate_submission.apply_async(args=[submission.pk], queue=queue_name)
    )


def submission_create_config(
    *,
    benchmark: Benchmark,
    contributor: Contributor | None,
    config: Any,
    title: str = "",
    check_quota: bool = True,
) -> Submission:
    """A config against the platform's reference model: validated, then queued at once (no
    contributor code runs, so no approval is needed). Errors name the field."""
    if not benchmark.active:
        raise ValidationError({"benchmark": f"benchmark {benchmark.slug} is not accepting entries"})
    errors = validate_config(benchmark.engine_spec, config)
    if errors:
        raise ValidationError(
            {("config" if key == "__all__" else f"config.{key}"): msg for key, msg in errors}
        )
    if check_quota and contributor is not None:
        submission_check_quota(benchmark=benchmark, contributor=contributor)
    with transaction.atomic():
        submission = Submission.objects.create(
            benchmark=benchmark,
            contributor=contributor,
            source=Submission.Source.CONFIG,
            title=title[:300],
            config=config,
            status=Status.QUEUED,
            queued_at=timezone.now(),
            official=benchmark.byte_budget is None,
        )
        _enqueue(submission)
    return submission


def submission_check_quota(*, benchmark: Benchmark, contributor: Contributor) -> None:
    """Refuse a submission over the daily quota; platform failures and cancellations are free."""
    since = timezone.now() - timedelta(days=1)
    used = (
        Submission.objects.filter(
            benchmark=benchmark,
            contributor=contributor,
            created_at__gte=since,
            counts_for_quota=True,
        )
        .exclude(status__in=[Status.CANCELLED, Status.SUPERSEDED])
        .count()
    )
    if used >= benchmark.daily_quota:
        raise ValidationError(
            {
                "benchmark": f"daily quota reached: {used} of {benchmark.daily_quota} submissions "
                f"to {benchmark.slug} in the last 24 hours"
            }
        )


def submission_cancel(*, submission: Submission, reason: str = "cancelled") -> Submission:
    """Cancel a waiting or running submission; a running worker sees it and kills its sandbox."""
    with transaction.atomic():
        submission = Submission.objects.select_for_update().get(pk=submission.pk)
        submission_transition(submission=submission, to=Status.CANCELLED, reason=reason)
        submission.counts_for_quota = False
        submission.save(update_fields=["counts_for_quota"])
        submission.runs.exclude(status__in=EvaluationRun.FINISHED).exclude(
            status=RunStatus.RUNNING
        ).update(status=RunStatus.CANCELLED, finished_at=timezone.now())
        submission_publish(submission=submission)
    return submission


def submission_approve(
    *, submission: Submission, user: User | None, github_login: str = ""
) -> Submission:
    """A maintainer (a platform user, or a GitHub maintainer by `@crucible evaluate`) lets a
    waiting code submission run."""
    with transaction.atomic():
        submission = Submission.objects.select_for_update().get(pk=submission.pk)
        if submission.status != Status.PENDING_APPROVAL:
            raise TransitionError(f"submission #{submission.pk} is not waiting for approval")
        submission.approved_by = user
        submission.approved_by_login = github_login[:100]
        submission_transition(submission=submission, to=Status.QUEUED)
        _enqueue(submission)
        submission_publish(submission=submission)
    return submission


def submission_rerun(*, submission: Submission) -> Submission:
    """Run a finished submission again from scratch (a maintainer's decision)."""
    with transaction.atomic():
        submission = Submission.objects.select_for_update().get(pk=submission.pk)
        submission_transition(submission=submission, to=Status.QUEUED)
        submission.runs.all().delete()
        submission.mean_val_bpb = submission.std_val_bpb = None
        submission.is_record = False
        submission.save()
        _enqueue(submission)
        submission_publish(submission=submission)
    return submission


# --- results out: commit status and the one PR comment --------------------------------------


def submission_url(submission: Submission) -> str:
    return f"{settings.PLATFORM_URL}/submissions/{submission.pk}/"


def _signed(value: float, digits: int = 3) -> str:
    return f"{value:+.{digits}f}".replace("-", "\u2212")


def submission_summary(submission: Submission) -> str:
    """One line: "val 1.234 bpb, −0.012 vs baseline, rank #3" (and "new record")."""
    if submission.status != Status.SCORED or submission.mean_val_bpb is None:
        return submission.reason or submission.get_status_display()
    parts = [f"val {submission.mean_val_bpb:.3f} bpb"]
    baseline = submission.benchmark.baseline
    if (
        baseline is not None
        and baseline.pk != submission.pk
        and baseline.status == Status.SCORED
        and baseline.mean_val_bpb is not None
    ):
        parts.append(f"{_signed(submission.mean_val_bpb - baseline.mean_val_bpb)} vs baseline")
    entry = LeaderboardEntry.objects.filter(submission=submission).first()
    if entry is not None:
        parts.append(f"rank #{entry.rank}")
    if submission.is_record:
        parts.append("new record")
    return ", ".join(parts)


STATUS_FOR = {
    Status.PENDING_APPROVAL: "pending",
    Status.QUEUED: "pending",
    Status.RUNNING: "pending",
    Status.SCORED: "success",
    Status.FAILED: "failure",
    Status.CANCELLED: "error",
    Status.SUPERSEDED: "error",
}


def _status_description(submission: Submission) -> str:
    bot = settings.GITHUB_BOT_NAME
    if submission.status == Status.PENDING_APPROVAL:
        return f"waiting for a maintainer's approval (@{bot} evaluate)"
    if submission.status == Status.QUEUED:
        return f"queued for {submission.benchmark.slug} on the {submission.benchmark.queue} queue"
    if submission.status == Status.RUNNING:
        return f"training on {submission.benchmark.slug}"
    if submission.status == Status.SCORED:
        return submission_summary(submission)
    label = submission.get_status_display().lower()
    return f"{label}: {submission.reason}" if submission.reason else label


def _comment_body(submission: Submission) -> str:
    benchmark = submission.benchmark
    heading = submission.get_status_display().lower()
    if submission.status in (Status.SCORED, Status.FAILED, Status.CANCELLED):
        heading = str(submission.status)
    lines = [
        f"### Crucible · `{benchmark.slug}` · {heading}",
        "",
        f"Commit `{submission.head_sha[:7]}`, folder `{submission.folder}/`.",
        "",
    ]
    if submission.status == Status.SCORED:
        std = f" ± {submission.std_val_bpb:.4f}" if submission.std_val_bpb else ""
        lines.append(
            f"**{submission_summary(submission)}** (mean{std} over {submission.runs.count()} "
            f"seed{'s' if submission.runs.count() != 1 else ''}, validation bits per byte, "
            "lower is better)."
        )
        if submission.is_record:
            lines.append("")
            lines.append("🏆 **New record** for this benchmark.")
        if not submission.official:
            lines.append("")
            lines.append("_Unofficial: trained on a reduced budget._")
    elif submission.reason:
        lines.append(f"**{submission.get_status_display()}**: {submission.reason}")
    lines += [
        "",
        "| seed | status | val bpb | final loss | bytes/s | device |",
        "| ---: | --- | ---: | ---: | ---: | --- |",
    ]
    for run in submission.runs.order_by("seed"):
        curve = run.loss_curve or []
        final = curve[-1].get("loss") if curve and isinstance(curve[-1], dict) else None
        speed = (run.metrics or {}).get("bytes_per_second")
        lines.append(
            f"| {run.seed} | {run.get_status_display()} | "
            f"{_number(run.val_bits_per_byte, '.4f')} | {_number(final, '.4f')} | "
            f"{_number(speed, ',.0f')} | {run.device or '—'} |"
        )
    lines += ["", f"[Details, loss curves and logs]({submission_url(submission)})"]
    return "\n".join(lines)


def _number(value: Any, spec: str) -> str:
    return format(value, spec) if isinstance(value, int | float) else "—"


def submission_publish(*, submission: Submission) -> None:
    """Tell GitHub where a pull request or commit submission stands: the commit status on its
    SHA (`pending` waiting or queued, `success` with the score, `failure` with the reason,
    `error` cancelled or superseded) and, once finished, the platform's one PR comment.

    Stored and sent after commit by contrib's answers (retried, never posted twice). Configs
    have no commit to report on: nothing is sent for them.
    """
    if submission.repository_id is None or not submission.head_sha:
        return
    repository = submission.repository
    assert repository is not None
    commit_status_set(
        repository=repository,
        sha=submission.head_sha,
        state=STATUS_FOR[Status(submission.status)],
        description=_status_description(submission),
        target_url=submission_url(submission),
        context=f"crucible/{submission.benchmark.slug}",
    )
    finished = submission.status in (Status.SCORED, Status.FAILED)
    if finished and submission.pr_number:
        pull_request_comment_set(
            repository=repository, number=submission.pr_number, body=_comment_body(submission)
        )


# --- running the engine ---------------------------------------------------------------------


@dataclass
class EngineResult:
    result: dict[str, Any]
    exit_status: int
    output_tail: str
    cancelled: bool = False
    timed_out: bool = False
    lines: list[str] = field(default_factory=list)


def _engine_env() -> dict[str, str]:
    """A clean environment for the engine: nothing of the platform's (no secrets, no DB URL)."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "CUDA_VISIBLE_DEVICES")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    env["PYTHONPATH"] = str(ROOT)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def engine_run(
    *,
    spec: str,
    folder: Path,
    seed: int,
    byte_budget: int | None = None,
    on_progress: Callable[[int | None, float | None], bool] | None = None,
    heartbeat_seconds: float = 2.0,
    timeout: float | None = None,
) -> EngineResult:
    """Run `python -m evaluation.engine run` on a submission folder, in its own process group.

    `on_progress(bytes_done, loss)` is called every `heartbeat_seconds` (and on progress lines);
    returning False cancels the run, killing the whole group. Whether the folder's code is
    trusted is the engine's decision, by content (the reference model's sha256), never ours.
    """
    out = Path(tempfile.mkdtemp(prefix="crucible-result-")) / "result.json"
    command = [
        sys.executable,
        "-m",
        "evaluation.engine",
        "run",
        "--benchmark",
        spec,
        "--submission",
        str(folder),
        "--seed",
        str(seed),
        "--out",
        str(out),
    ]
    if byte_budget:
        command += ["--budget-bytes", str(byte_budget)]
    timeout = timeout or settings.EVALUATION_RUN_TIMEOUT
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=_engine_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        text=True,
        errors="replace",
        preexec_fn=_die_with_parent,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    tail: list[str] = []
    progress: tuple[int | None, float | None] = (None, None)
    started = time.monotonic()
    last_beat = 0.0
    cancelled = timed_out = False
    finished = False
    while not finished:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            line = ""
        if line is None:
            finished = True
        elif line:
            tail.append(line)
            del tail[:-200]
            match = PROGRESS_LINE.search(line)
            if match:
                loss_text = match.group(2)
                try:
                    loss: float | None = float(loss_text)
                except ValueError:
                    loss = None
                progress = (int(match.group(1).replace(",", "")), loss)
        now = time.monotonic()
        if on_progress is not None and (now - last_beat >= heartbeat_seconds or finished):
            last_beat = now
            if not on_progress(*progress) and not finished:
                cancelled = True
        if not finished and (cancelled or now - started > timeout):
            timed_out = not cancelled
            _kill_group(process)
            finished = True
    exit_status = process.wait()
    output_tail = "".join(tail)[-LOG_TAIL_CHARS:]
    result: dict[str, Any] = {}
    if out.exists():
        try:
            result = json.loads(out.read_text())
        except ValueError:
            result = {}
    shutil.rmtree(out.parent, ignore_errors=True)
    return EngineResult(result, exit_status, output_tail, cancelled, timed_out, tail)


def _die_with_parent() -> None:
    """In the engine's process: get SIGKILL if the worker dies (kill -9), so no orphan run
    keeps a GPU busy while the reaper requeues the submission elsewhere."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _kill_group(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


class FetchError(Exception):
    """The submission's files could not be fetched or were refused; the message says why.
    `platform_fault`: GitHub or the network failed, not the contributor."""

    def __init__(self, message: str, *, platform_fault: bool = False) -> None:
        super().__init__(message)
        self.platform_fault = platform_fault


def submission_materialize(*, submission: Submission, folder: Path) -> None:
    """Write the submission's files into `folder`.

    A config is written as `config.json` for the platform's own reference model. A pull
    request or commit is fetched at its exact SHA as GitHub's tarball and only its submission
    folder is extracted, safely (see `evaluation.archive`). Either way the engine decides by
    content whether it is the reference code; anything else runs only in its sandbox.
    """
    if submission.source == Submission.Source.CONFIG:
        (folder / "config.json").write_text(json.dumps(submission.config))
        return
    if submission.repository is None or not submission.head_sha or not submission.folder:
        raise FetchError("the submission names no repository, commit or folder")
    data = _archive_fetch(submission=submission)
    try:
        extract_folder(
            data,
            folder=submission.folder,
            dest=folder,
            limits=Limits(
                max_bytes=settings.EVALUATION_SUBMISSION_MAX_BYTES,
                max_files=settings.EVALUATION_SUBMISSION_MAX_FILES,
            ),
        )
    except UnsafeArchive as exc:
        raise FetchError(f"the archive of {submission.head_sha[:7]} was refused: {exc}") from exc
    if not (folder / "config.json").is_file():
        raise FetchError(f"{submission.folder}/ has no config.json at {submission.head_sha[:7]}")


def _archive_fetch(*, submission: Submission) -> bytes:
    from github import GithubException

    from contrib.github.client import GitHubNotConfigured, archive_download, is_transient

    assert submission.repository is not None
    name = f"{submission.repository.full_name}@{submission.head_sha[:7]}"
    try:
        data = archive_download(repository=submission.repository, ref=submission.head_sha)
    except GithubException as exc:
        raise FetchError(
            f"GitHub refused the archive of {name} ({exc.status})",
            platform_fault=is_transient(exc),
        ) from exc
    except GitHubNotConfigured as exc:
        raise FetchError(str(exc), platform_fault=True) from exc
    except Exception as exc:
        if not is_transient(exc):
            raise
        raise FetchError(f"could not download {name}: {exc}", platform_fault=True) from exc
    if len(data) > settings.EVALUATION_ARCHIVE_MAX_BYTES:
        raise FetchError(
            f"the archive of {name} is larger than "
            f"{settings.EVALUATION_ARCHIVE_MAX_BYTES:,} bytes (EVALUATION_ARCHIVE_MAX_BYTES)"
        )
    return data


def submission_evaluate(*, submission_id: int) -> str:
    """The worker's job: train and score every seed of a queued submission, then publish.

    Idempotent: a submission that is not queued (finished, cancelled, running elsewhere) is left
    alone, and seeds already finished are not run again after a requeue.
    """
    with transaction.atomic():
        submission = (
            Submission.objects.select_for_update().select_related("benchmark").get(pk=submission_id)
        )
        if submission.status != Status.QUEUED:
            return submission.status
        submission_transition(submission=submission, to=Status.RUNNING)
    benchmark = submission.benchmark
    host = socket.gethostname()
    for seed in range(benchmark.seeds):
        run, _created = EvaluationRun.objects.get_or_create(submission=submission, seed=seed)
        if run.status in EvaluationRun.FINISHED:
            continue
        if not _run_seed(submission=submission, run=run, host=host):
            return Submission.objects.get(pk=submission.pk).status
    return submission_finish(submission_id=submission.pk)


def _run_seed(*, submission: Submission, run: EvaluationRun, host: str) -> bool:
    """Run one seed; False when the submission stopped (cancelled, or failed for good)."""
    benchmark = submission.benchmark
    spec = SPECS[benchmark.engine_spec]
    EvaluationRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING,
        worker_host=host,
        attempts=F("attempts") + 1,
        started_at=timezone.now(),
        heartbeat_at=timezone.now(),
        error="",
        budget_bytes=benchmark.byte_budget or spec.byte_budget,
    )

    def heartbeat(done: int | None, loss: float | None) -> bool:
        updates: dict[str, Any] = {"heartbeat_at": timezone.now()}
        if done is not None:
            updates["progress_bytes"] = done
        if loss is not None and loss == loss and abs(loss) != float("inf"):
            updates["current_loss"] = loss
        EvaluationRun.objects.filter(pk=run.pk).update(**updates)
        status = Submission.objects.filter(pk=submission.pk).values_list("status", flat=True)
        return bool(status) and status[0] == Status.RUNNING

    with tempfile.TemporaryDirectory(prefix="crucible-submission-") as folder:
        try:
            submission_materialize(submission=submission, folder=Path(folder))
        except (ValidationError, FetchError) as exc:
            message = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            _record_run_failure(run=run, error=message)
            _fail(
                submission,
                f"could not fetch the submission: {message}",
                platform_fault=getattr(exc, "platform_fault", False),
            )
            return False
        outcome = engine_run(
            spec=benchmark.engine_spec,
            folder=Path(folder),
            seed=run.seed,
            byte_budget=benchmark.byte_budget,
            on_progress=heartbeat,
        )
    result = outcome.result
    if outcome.cancelled:
        EvaluationRun.objects.filter(pk=run.pk).update(
            status=RunStatus.CANCELLED,
            finished_at=timezone.now(),
            log_tail=outcome.output_tail,
            error="cancelled while running",
        )
        return False
    status = result.get("status")
    error = result.get("error") or ""
    if outcome.timed_out:
        status, error = "failed", "the run exceeded the platform's time limit and was stopped"
    elif not result:
        status = "failed"
        error = f"the engine stopped without a result (exit status {outcome.exit_status})"
    EvaluationRun.objects.filter(pk=run.pk).update(
        status={"ok": RunStatus.OK, "rejected": RunStatus.REJECTED}.get(
            str(status), RunStatus.FAILED
        ),
        val_bits_per_byte=result.get("val_bits_per_byte"),
        loss_curve=result.get("loss_curve") or [],
        metrics={k: v for k, v in result.items() if k not in ("loss_curve", "log_tail")},
        device=str(result.get("device_name") or result.get("device") or ""),
        log_tail=((result.get("log_tail") or "") + outcome.output_tail)[-LOG_TAIL_CHARS:],
        exit_status=outcome.exit_status,
        error=error,
        progress_bytes=result.get("bytes_trained") or F("progress_bytes"),
        finished_at=timezone.now(),
        heartbeat_at=timezone.now(),
    )
    if status != "ok":
        # The engine says whose fault a failure is; the platform's own are not charged.
        _fail(
            submission,
            f"seed {run.seed}: {error or 'the run failed'}",
            platform_fault=result.get("fault") == "platform",
        )
        return False
    return True


def _record_run_failure(*, run: EvaluationRun, error: str) -> None:
    EvaluationRun.objects.filter(pk=run.pk).update(
        status=RunStatus.FAILED, error=error, finished_at=timezone.now()
    )


def _fail(submission: Submission, reason: str, *, platform_fault: bool = False) -> None:
    with transaction.atomic():
        fresh = Submission.objects.select_for_update().get(pk=submission.pk)
        if Status.FAILED in Submission.ALLOWED_TRANSITIONS[fresh.status]:
            submission_transition(submission=fresh, to=Status.FAILED, reason=reason)
            if platform_fault:
                fresh.counts_for_quota = False
                fresh.save(update_fields=["counts_for_quota"])
            submission_publish(submission=fresh)


def submission_finish(*, submission_id: int) -> str:
    """All seeds scored: record mean ± std, update the leaderboard, credit the author."""
    with transaction.atomic():
        submission = Submission.objects.select_for_update().get(pk=submission_id)
        if submission.status != Status.RUNNING:
            return submission.status
        scores = [
            run.val_bits_per_byte
            for run in submission.runs.filter(status=RunStatus.OK)
            if run.val_bits_per_byte is not None
        ]
        submission.mean_val_bpb = statistics.fmean(scores)
        submission.std_val_bpb = statistics.stdev(scores) if len(scores) > 1 else 0.0
        submission.is_record = _beats_every_earlier_score(submission)
        submission_transition(submission=submission, to=Status.SCORED)
        leaderboard_recompute(benchmark=submission.benchmark)
        submission_publish(submission=submission)
        if submission.contributor is not None:
            contribution_record(
                contributor=submission.contributor,
                kind=ContributionKind.EVALUATION,
                occurred_at=submission.finished_at or timezone.now(),
                source=ContributionSource.PLATFORM,
                external_id=f"evaluation:{submission.pk}",
                title=f"{submission.benchmark.slug}: {submission.mean_val_bpb:.4f} bpb",
                metadata={"submission": submission.pk, "benchmark": submission.benchmark.slug},
            )
            if submission.is_record:
                # One record-holder badge per contributor and benchmark, however many records.
                award_grant(
                    badge=badges_ensure()["leaderboard-record"],
                    contributor=submission.contributor,
                    citation=f"{submission.benchmark.slug}: {submission.mean_val_bpb:.4f} bpb "
                    f"(submission #{submission.pk})",
                    period_key=submission.benchmark.slug[:20],
                )
    return Status.SCORED


def _beats_every_earlier_score(submission: Submission) -> bool:
    """A record: better than every submission of the benchmark scored before it (the baseline
    included); the baseline itself and a first score against nothing are not records."""
    benchmark = submission.benchmark
    if submission.pk == benchmark.baseline_id or submission.mean_val_bpb is None:
        return False
    earlier = Submission.objects.filter(
        benchmark=benchmark, status=Status.SCORED, mean_val_bpb__isnull=False
    ).exclude(pk=submission.pk)
    lower = benchmark.metric_direction == Benchmark.Direction.LOWER
    best = earlier.order_by("mean_val_bpb" if lower else "-mean_val_bpb").first()
    if best is None or best.mean_val_bpb is None:
        return False
    return (
        submission.mean_val_bpb < best.mean_val_bpb
        if lower
        else submission.mean_val_bpb > best.mean_val_bpb
    )


def leaderboard_recompute(*, benchmark: Benchmark) -> list[LeaderboardEntry]:
    """Rebuild a benchmark's leaderboard: each contributor's best scored submission, ranked
    (ties: the earlier submission first), with the delta to the baseline."""
    lower = benchmark.metric_direction == Benchmark.Direction.LOWER
    scored = (
        Submission.objects.filter(
            benchmark=benchmark,
            status=Status.SCORED,
            contributor__isnull=False,
            mean_val_bpb__isnull=False,
        )
        .exclude(pk=benchmark.baseline_id or 0)
        .order_by("created_at", "pk")
    )
    best: dict[int, Submission] = {}
    for submission in scored:
        assert submission.contributor_id is not None and submission.mean_val_bpb is not None
        current = best.get(submission.contributor_id)
        if current is None or (
            submission.mean_val_bpb < current.mean_val_bpb  # type: ignore[operator]
            if lower
            else submission.mean_val_bpb > current.mean_val_bpb  # type: ignore[operator]
        ):
            best[submission.contributor_id] = submission
    baseline = benchmark.baseline
    baseline_score = (
        baseline.mean_val_bpb if baseline and baseline.status == Status.SCORED else None
    )
    ordered = sorted(
        best.values(),
        key=lambda s: ((s.mean_val_bpb or 0) * (1 if lower else -1), s.created_at, s.pk),
    )
    with transaction.atomic():
        LeaderboardEntry.objects.filter(benchmark=benchmark).delete()
        return LeaderboardEntry.objects.bulk_create(
            LeaderboardEntry(
                benchmark=benchmark,
                contributor_id=submission.contributor_id or 0,
                submission=submission,
                rank=rank,
                mean_val_bpb=submission.mean_val_bpb or 0.0,
                std_val_bpb=submission.std_val_bpb,
                delta_to_baseline=(
                    submission.mean_val_bpb - baseline_score
                    if baseline_score is not None and submission.mean_val_bpb is not None
                    else None
                ),
            )
            for rank, submission in enumerate(ordered, start=1)
        )


def runs_reap_stale(*, stale_after: timedelta | None = None) -> dict[str, int]:
    """Find running submissions whose worker stopped beating: requeue once, then fail them
    with "worker lost". Nothing stays `running` forever."""
    stale_after = stale_after or timedelta(seconds=settings.EVALUATION_HEARTBEAT_TIMEOUT)
    cutoff = timezone.now() - stale_after
    counts = {"requeued": 0, "failed": 0}
    stale = EvaluationRun.objects.filter(status=RunStatus.RUNNING, heartbeat_at__lt=cutoff)
    for run in stale.select_related("submission"):
        with transaction.atomic():
            submission = Submission.objects.select_for_update().get(pk=run.submission_id)
            locked = EvaluationRun.objects.select_for_update().get(pk=run.pk)
            if locked.status != RunStatus.RUNNING or submission.status != Status.RUNNING:
                continue
            if locked.attempts < 2:
                locked.status = RunStatus.QUEUED
                locked.error = f"worker lost on {locked.worker_host or 'an unknown host'}; requeued"
                locked.save(update_fields=["status", "error"])
                submission_transition(submission=submission, to=Status.QUEUED)
                _enqueue(submission)
                submission_publish(submission=submission)
                counts["requeued"] += 1
            else:
                locked.status = RunStatus.FAILED
                locked.error = "worker lost"
                locked.finished_at = timezone.now()
                locked.save(update_fields=["status", "error", "finished_at"])
                submission_transition(
                    submission=submission,
                    to=Status.FAILED,
                    reason=f"worker lost twice (last on {locked.worker_host or 'unknown host'})",
                )
                submission.counts_for_quota = False
                submission.save(update_fields=["counts_for_quota"])
                submission_publish(submission=submission)
                counts["failed"] += 1
    return counts


def benchmark_get_or_create(
    *,
    slug: str,
    engine_spec: str,
    queue: str,
    seeds: int,
    byte_budget: int | None = None,
    name: str = "",
    description: str = "",
) -> Benchmark:
    """A benchmark for an engine spec, with its baseline (the reference model, default config)
    queued the first time."""
    if engine_spec not in SPECS:
        raise ValidationError({"engine_spec": f"unknown engine spec {engine_spec!r}"})
    with transaction.atomic():
        benchmark, _created = Benchmark.objects.get_or_create(
            slug=slug,
            defaults={
                "engine_spec": engine_spec,
                "queue": queue,
                "seeds": seeds,
                "byte_budget": byte_budget,
                "name": name or slug,
                "description": description or SPECS[engine_spec].description,
            },
        )
        if benchmark.baseline_id is None:
            baseline = Submission.objects.create(
                benchmark=benchmark,
                contributor=None,
                source=Submission.Source.CONFIG,
                title="Baseline: the reference model",
                config={},
                status=Status.QUEUED,
                queued_at=timezone.now(),
                official=byte_budget is None,
            )
            benchmark.baseline = baseline
            benchmark.save(update_fields=["baseline"])
            _enqueue(baseline)
    return benchmark
