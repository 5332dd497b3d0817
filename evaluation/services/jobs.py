"""The platform's side of a worker's job, one function per call of the worker API
(`evaluation/api/workers.py`; the worker's side is `evaluation/agent/job.py`):

claim a queued submission → for each seed: start the run, heartbeats, the result → finish.

A worker writes only to runs it holds (started by it, still running); everything it sends is
checked before it is stored. Its token is a worker's whole authority: it can report any figure
for a run it holds, so only machines the project trusts get one (README, "Add a GPU worker").
"""

import io
import math
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from evaluation.agent.engine_process import LOG_TAIL_CHARS
from evaluation.datastore import data_dir
from evaluation.engine.folders import stored_path
from evaluation.engine.passes import json_safe
from evaluation.errors import JobRefusedError
from evaluation.models import Benchmark, EvaluationRun, Submission, Worker
from evaluation.queues import queued_in_order
from evaluation.selectors import benchmark_run_budget
from evaluation.services.files import FetchError, submission_materialize
from evaluation.services.results import (
    MAX_ERROR_CHARS,
    PRIVATE_RESULT_KEYS,
    RESULT_STATUSES,
    result_check,
)
from evaluation.services.runs import (
    submission_cut_short,
    submission_fail,
    submission_finish,
    submission_retry_after_fault,
    submission_seeds,
)
from evaluation.services.transitions import submission_transition
from evaluation.services.workers import (
    worker_calibration_due,
    worker_device_class,
    worker_gpus,
    worker_misfit,
    worker_slower_than_another,
)

Status = Submission.Status
RunStatus = EvaluationRun.Status


def job_claim(*, worker: Worker, submission_id: int) -> dict[str, Any] | None:
    """Take a job from the queue of `submission_id`'s message: the queued submission that the
    queue's fair order (`evaluation/queues.py`: maintainer priority, then round-robin by
    contributor, then the oldest) puts first among those this worker may run. It becomes
    `running` and the job's description comes back (its `submission` may not be the message's).
    `None` when nothing is queued there (a redelivered or cancelled one's message)."""
    hinted = Submission.objects.select_related("benchmark").filter(pk=submission_id).first()
    if hinted is None:
        return None
    queue = hinted.benchmark.queue
    if queue not in worker.queues:
        raise JobRefusedError(
            f"submission #{submission_id} runs on queue {queue!r}, which worker "
            f"{worker.name!r} does not serve"
        )
    refused: list[str] = []
    for candidate in queued_in_order(queue=queue):
        problem = _not_for(worker, candidate)
        if problem:
            refused.append(problem)
            continue
        with transaction.atomic():
            submission = (
                Submission.objects.select_for_update()
                .select_related("benchmark")
                .get(pk=candidate.pk)
            )
            if submission.status != Status.QUEUED:  # another worker took it meanwhile
                continue
            submission_transition(submission=submission, to=Status.RUNNING, save=False)
            submission.claimed_at = timezone.now()
            submission.claimed_by = worker
            submission.claims += 1
            submission.save()
        return job_describe(submission=submission, worker=worker)
    if refused:  # the jobs there wait for a worker that can run them
        raise JobRefusedError(refused[0])
    return None


def _not_for(worker: Worker, submission: Submission) -> str:
    """Why this worker may not run the submission ("" when it may)."""
    misfit = worker_misfit(benchmark=submission.benchmark, gpus=worker_gpus(worker.devices))
    if misfit:  # its queue changed since the worker said hello
        return f"submission #{submission.pk}: {misfit}"
    if submission.only_on and submission.only_on != worker_device_class(
        worker=worker, benchmark=submission.benchmark
    ):
        return (
            f"submission #{submission.pk} runs only on {submission.only_on} workers (its result "
            "there is compared with results of that device class)"
        )
    if submission.slow_requeues and worker_slower_than_another(
        worker=worker, benchmark=submission.benchmark
    ):
        return (
            f"submission #{submission.pk} was cut short on a worker too slow for "
            f"{submission.benchmark.slug}; it waits for a faster one"
        )
    return ""


def job_describe(*, submission: Submission, worker: Worker) -> dict[str, Any]:
    """What a worker needs to run a submission: the benchmark (its definition: settings and
    data digests, never a path or text), the budget, the seeds still to run, and whether to
    time the reference model there first (`calibrate`)."""
    benchmark = submission.benchmark
    done = set(
        submission.runs.filter(
            status__in=EvaluationRun.FINISHED, attempt=submission.attempt
        ).values_list("seed", flat=True)
    )
    return {
        "submission": submission.pk,
        "benchmark": benchmark.slug,
        "spec": benchmark.engine_spec,
        "definition": benchmark.definition or None,
        "byte_budget": benchmark.byte_budget,
        "seeds": [seed for seed in submission_seeds(submission) if seed not in done],
        "calibrate": worker_calibration_due(worker=worker, benchmark=benchmark),
    }


def job_files(*, worker: Worker, submission_id: int) -> bytes:
    """The submission's files as a `.tar.gz` of one top folder, `submission/`: fetched from
    GitHub here (the worker holds no GitHub credentials), extracted safely, packed again. A
    submission whose files are refused fails here, with the reason, and the worker is told."""
    submission = _held_submission(worker=worker, submission_id=submission_id)
    with tempfile.TemporaryDirectory(prefix="crucible-submission-") as folder:
        try:
            submission_materialize(submission=submission, folder=Path(folder))
        except (ValidationError, FetchError) as exc:
            message = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            submission_fail(
                submission,
                f"could not fetch the submission: {message}",
                platform_fault=getattr(exc, "platform_fault", False),
            )
            raise JobRefusedError(f"could not fetch the submission: {message}") from None
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            for path in sorted(Path(folder).rglob("*")):
                if path.is_file():
                    archive.add(path, arcname=f"submission/{path.relative_to(folder)}")
    return buffer.getvalue()


def job_data(*, worker: Worker, digest: str) -> Path | None:
    """Where the store keeps the file with this sha256, for a worker of a benchmark that uses
    it (a worker of one project's queue never reads another's held-out text); None for any
    other."""
    for definition in Benchmark.objects.filter(queue__in=worker.queues).values_list(
        "definition", flat=True
    ):
        for files in ((definition or {}).get("data") or {}).values():
            if any(item.get("sha256") == digest for item in files):
                return stored_path(data_dir(), digest)
    return None


def run_start(*, worker: Worker, submission_id: int, seed: int) -> EvaluationRun:
    """Start one seed of a submission this worker claimed (refused once it stopped running:
    cancelled, superseded, or failed)."""
    submission = _held_submission(worker=worker, submission_id=submission_id)
    if seed not in submission_seeds(submission):
        raise JobRefusedError(f"seed {seed} is not one of the benchmark's seeds")
    run, _created = EvaluationRun.objects.get_or_create(
        submission=submission, attempt=submission.attempt, seed=seed
    )
    if run.status in EvaluationRun.FINISHED:
        raise JobRefusedError(f"seed {seed} of submission #{submission_id} is finished already")
    running = submission.runs.filter(status=RunStatus.RUNNING, attempt=submission.attempt)
    if running.exclude(pk=run.pk).exists():
        raise JobRefusedError(f"submission #{submission_id} runs one seed at a time")
    EvaluationRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING,
        worker=worker,
        worker_host=worker.host or worker.name,
        attempts=F("attempts") + 1,
        started_at=timezone.now(),
        heartbeat_at=timezone.now(),
        error="",
        budget_bytes=benchmark_run_budget(submission.benchmark)[0],
    )
    run.refresh_from_db()
    return run


def run_heartbeat(
    *, worker: Worker, run_id: int, progress_bytes: int | None, loss: float | None
) -> bool:
    """A running seed's progress; False: stop it (the submission was cancelled)."""
    run = _held_run(worker=worker, run_id=run_id)
    updates: dict[str, Any] = {"heartbeat_at": timezone.now()}
    if progress_bytes is not None:
        updates["progress_bytes"] = max(0, min(progress_bytes, run.budget_bytes or progress_bytes))
    if loss is not None and math.isfinite(loss):
        updates["current_loss"] = loss
    EvaluationRun.objects.filter(pk=run.pk).update(**updates)
    return run.submission.status == Status.RUNNING


def run_record(
    *,
    worker: Worker,
    run_id: int,
    result: dict[str, Any],
    exit_status: int | None,
    output_tail: str,
    cancelled: bool = False,
    timed_out: bool = False,
) -> bool:
    """Store a seed's outcome as the worker's engine gave it; True: go on with the next seed.
    A failure fails the submission (charged to the submitter only when the engine blames the
    submission)."""
    run = _held_run(worker=worker, run_id=run_id)
    submission = run.submission
    result = result_check(result)
    output_tail = json_safe(output_tail)[-LOG_TAIL_CHARS:]
    now = timezone.now()
    if submission.status != Status.RUNNING:
        # Cancelled or superseded while this seed ran: whatever it scored is not kept.
        EvaluationRun.objects.filter(pk=run.pk).update(
            status=RunStatus.CANCELLED,
            finished_at=now,
            log_tail=output_tail,
            error="cancelled while running",
        )
        return False
    status = str(result.get("status"))
    error = str(result.get("error") or "")[:MAX_ERROR_CHARS]
    if cancelled:  # the worker stopped a seed the platform still wanted: its own fault
        status, error = "failed", "the worker stopped the run"
        result = {**result, "fault": "platform"}
    elif timed_out:
        status, error = "failed", "the run exceeded the platform's time limit and was stopped"
    elif not result:
        status = "failed"
        error = f"the engine stopped without a result (exit status {exit_status})"
    run_status = RESULT_STATUSES.get(status, RunStatus.FAILED)
    if run_status == RunStatus.OK and result.get("val_bits_per_byte") is None:
        raise JobRefusedError("an ok result needs its val_bits_per_byte")
    EvaluationRun.objects.filter(pk=run.pk).update(
        status=run_status,
        val_bits_per_byte=result.get("val_bits_per_byte"),
        test_bits_per_byte=result.get("test_bits_per_byte"),
        loss_curve=result.get("loss_curve") or [],
        # Not the hidden split's score: `metrics` is public, that one is not (until revealed).
        metrics={k: v for k, v in result.items() if k not in PRIVATE_RESULT_KEYS},
        device=str(result.get("device_name") or result.get("device") or "")[:100],
        log_tail=(str(result.get("log_tail") or "") + output_tail)[-LOG_TAIL_CHARS:],
        exit_status=exit_status,
        error=error,
        progress_bytes=result.get("bytes_trained") or F("progress_bytes"),
        finished_at=now,
        heartbeat_at=now,
    )
    counter = "jobs_done" if run_status == RunStatus.OK else "failures"
    Worker.objects.filter(pk=worker.pk).update(**{counter: F(counter) + 1})
    if run_status == RunStatus.OK and (result.get("bytes_trained") or 0) < run.budget_bytes:
        run.refresh_from_db()
        submission_cut_short(submission=submission, run=run, worker=worker)
        return False
    if run_status != RunStatus.OK:
        if result.get("fault") == "platform" and run.attempts < 2:
            # The worker's or the engine's fault (its disk full, a harness error): one more try,
            # on whichever worker takes it; a second such failure fails it, uncharged.
            submission_retry_after_fault(submission, run, error)
            return False
        # The engine says whose fault a failure is; the platform's own are not charged.
        submission_fail(
            submission,
            f"seed {run.seed}: {error or 'the run failed'}",
            platform_fault=result.get("fault") == "platform",
        )
        return False
    return True


def job_fail(*, worker: Worker, submission_id: int, reason: str, platform_fault: bool) -> str:
    """The worker could not run the job (its data could not be fetched, its disk is full …):
    fail the submission with the reason; not charged when the worker says it is its fault."""
    submission = _held_submission(worker=worker, submission_id=submission_id)
    Worker.objects.filter(pk=worker.pk).update(failures=F("failures") + 1)
    submission_fail(submission, reason[:MAX_ERROR_CHARS], platform_fault=platform_fault)
    return Submission.objects.get(pk=submission.pk).status


def job_finish(*, worker: Worker, submission_id: int) -> str:
    """Every seed ran on this worker: score, rank and credit the submission."""
    submission = _held_submission(worker=worker, submission_id=submission_id)
    runs = list(submission.runs.filter(attempt=submission.attempt))
    missing = set(submission_seeds(submission)) - {
        run.seed for run in runs if run.status == RunStatus.OK
    }
    if missing:
        raise JobRefusedError(
            f"seeds {sorted(missing)} of submission #{submission_id} are not scored"
        )
    return submission_finish(submission_id=submission.pk)


def _held_submission(*, worker: Worker, submission_id: int) -> Submission:
    submission = (
        Submission.objects.select_related("benchmark", "repository")
        .filter(pk=submission_id)
        .first()
    )
    if submission is None:
        raise JobRefusedError(f"there is no submission #{submission_id}")
    if submission.benchmark.queue not in worker.queues:
        raise JobRefusedError(
            f"submission #{submission_id} is not on worker {worker.name!r}'s queues"
        )
    if submission.status != Status.RUNNING:
        raise JobRefusedError(f"submission #{submission_id} is {submission.status}, not running")
    if submission.claimed_by_id != worker.pk:
        raise JobRefusedError(f"submission #{submission_id} is held by another worker")
    return submission


def _held_run(*, worker: Worker, run_id: int) -> EvaluationRun:
    run = EvaluationRun.objects.select_related("submission").filter(pk=run_id).first()
    if run is None or run.worker_id != worker.pk or run.submission.claimed_by_id != worker.pk:
        raise JobRefusedError(f"run {run_id} is not held by worker {worker.name!r}")
    if run.status != RunStatus.RUNNING:
        raise JobRefusedError(f"run {run_id} is {run.status}, not running")
    return run
