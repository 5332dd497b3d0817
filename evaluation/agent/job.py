"""A worker's job: claim a queued submission, fetch its files and its benchmark's data from the
platform, train and score each seed through the engine, and report every step back.

The platform decides everything that matters (which seeds, whether the submission still runs,
whose fault a failure is, the score's rank); this side only runs the engine and says what
happened. Every report goes through `Platform` (`client.py`)."""

from __future__ import annotations

import contextlib
import io
import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluation.agent.cache import DataCache, DataFetchError
from evaluation.agent.client import (
    JobRefusedError,
    Platform,
    PlatformUnavailableError,
    TokenRefusedError,
)
from evaluation.agent.engine_process import engine_run
from evaluation.archive import Limits, UnsafeArchive, extract_folder

log = logging.getLogger("crucible.worker")
# The platform checked the submission against its own limits already; these only bound what
# this worker unpacks if the answer were not what the platform sends.
FILES_LIMITS = Limits(max_bytes=1 << 30, max_files=10_000)


class ClaimRefusedError(RuntimeError):
    """The platform did not let this worker take the job (not its queue, too few GPUs)."""


@dataclass(frozen=True)
class JobSettings:
    cache: DataCache
    run_timeout: float
    heartbeat_seconds: float = 2.0
    # A job is not claimed while the cache's or the temporary files' disk has less free than
    # this (CRUCIBLE_WORKER_MIN_FREE_MB): a full disk would fail it, and then the next one.
    min_free_bytes: int = 0
    room_wait_seconds: float = 600.0


def _wait_for_room(settings: JobSettings) -> None:
    """Wait (up to `room_wait_seconds`) until both disks this worker writes on have
    `min_free_bytes` free; the job stays queued, charged to no one, meanwhile."""
    if settings.min_free_bytes <= 0:
        return
    folders = [settings.cache.root, Path(tempfile.gettempdir())]
    deadline = time.monotonic() + settings.room_wait_seconds
    said = 0.0
    while True:
        short = [f for f in folders if shutil.disk_usage(f).free < settings.min_free_bytes]
        if not short or time.monotonic() > deadline:
            return
        if time.monotonic() - said > 30:
            log.warning(
                "less than %d MB free on %s: waiting before taking a job",
                settings.min_free_bytes >> 20,
                ", ".join(str(f) for f in short),
            )
            said = time.monotonic()
        time.sleep(2)


def job_run(platform: Platform, submission_id: int, settings: JobSettings) -> str:
    """Run one submission; returns its status as the platform last gave it. A refused token
    (`TokenRefusedError`) and an unreachable platform (`PlatformUnavailableError`) propagate:
    the task decides whether the message goes back to the queue."""
    _wait_for_room(settings)
    try:
        job = platform.claim(submission_id)
    except JobRefusedError as exc:
        raise ClaimRefusedError(str(exc)) from exc
    if job is None:
        log.info("submission #%s is no longer queued: nothing to do", submission_id)
        return "not queued"
    # The platform hands out the queue's next submission in its fair order, maybe not this one.
    submission_id = int(job["submission"])
    log.info("submission #%s on %s: seeds %s", submission_id, job["benchmark"], job["seeds"])
    fetched: tuple[bytes, Path | None] | None = None
    for seed in job["seeds"]:
        try:
            run_id = platform.run_start(submission_id, seed)
        except JobRefusedError as exc:  # cancelled or superseded meanwhile
            log.info("submission #%s seed %s not started: %s", submission_id, seed, exc)
            return "stopped"
        if fetched is None:
            # Inside the first seed's run, whose heartbeats show the platform a live worker
            # however long a big benchmark's data takes to arrive.
            with _beating(platform, run_id, every=settings.heartbeat_seconds * 5):
                fetched = _fetch(platform, job, settings)
                if fetched is not None and job.get("calibrate"):
                    _calibrate(platform, job, fetched[1], settings)
            if fetched is None:
                _close_unrun(platform, run_id)
                return "failed"
        files, data_dir = fetched
        if not _run_seed(platform, job, seed, run_id, files, data_dir, settings):
            return "stopped"
    return platform.finish(submission_id)


def _close_unrun(platform: Platform, run_id: int) -> None:
    """A seed whose files never came (its submission cancelled or failed meanwhile): its run is
    closed as stopped, not left running beside a submission that is not."""
    outcome: dict[str, Any] = {
        "result": {},
        "exit_status": None,
        "output_tail": "",
        "cancelled": True,
    }
    with contextlib.suppress(JobRefusedError, PlatformUnavailableError):
        platform.run_result(run_id, outcome)


def _fetch(
    platform: Platform, job: dict[str, Any], settings: JobSettings
) -> tuple[bytes, Path | None] | None:
    """The submission's files and the benchmark's data (cached by sha256); None when the job
    failed for it (the platform was told, or told us)."""
    submission_id = int(job["submission"])
    data_dir: Path | None = None
    if job.get("definition"):
        try:
            data_dir = settings.cache.ensure(job["definition"], platform.data)
        except (DataFetchError, JobRefusedError, OSError) as exc:
            platform.fail(
                submission_id,
                reason=f"the worker could not fetch the benchmark's data: {exc}",
                platform_fault=True,
            )
            return None
    files = io.BytesIO()
    try:
        platform.files(submission_id, files)
    except JobRefusedError as exc:  # the platform failed the submission, and says why
        log.warning("submission #%s: %s", submission_id, exc)
        return None
    return files.getvalue(), data_dir


def _calibrate(
    platform: Platform, job: dict[str, Any], data_dir: Path | None, settings: JobSettings
) -> None:
    """Time the reference model on the job's benchmark for a few steps and report its training
    bytes/s: the platform's measure of whether this machine is fast enough for the benchmark
    (a run cut short on a machine too slow is requeued, not blamed on its model)."""
    wanted = job["calibrate"]
    with tempfile.TemporaryDirectory(prefix="crucible-calibration-") as folder:
        (Path(folder) / "config.json").write_text("{}")  # the reference model
        outcome = engine_run(
            spec=str(job["spec"]),
            definition=job.get("definition"),
            data_dir=data_dir,
            folder=Path(folder),
            seed=0,
            byte_budget=int(wanted["byte_budget"]),
            timeout=settings.run_timeout,
        )
    rate = outcome.result.get("bytes_per_second")
    if outcome.result.get("status") != "ok" or not isinstance(rate, int | float) or rate <= 0:
        problem = outcome.result.get("error") or outcome.output_tail[-500:]
        log.warning("timing the reference model on %s failed: %s", job["benchmark"], problem)
        return
    log.info("the reference model trains at %.0f bytes/s on %s here", rate, job["benchmark"])
    try:
        platform.calibrate(
            str(wanted["benchmark"]),
            data_version=int(wanted["data_version"]),
            bytes_per_second=rate,
        )
    except JobRefusedError as exc:  # the benchmark changed meanwhile: timed again next job
        log.warning("the platform did not take the timing: %s", exc)


@contextlib.contextmanager
def _beating(platform: Platform, run_id: int, *, every: float) -> Iterator[None]:
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every):
            with contextlib.suppress(Exception):  # the run's own calls report real trouble
                platform.heartbeat(run_id, progress_bytes=None, loss=None)

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _run_seed(
    platform: Platform,
    job: dict[str, Any],
    seed: int,
    run_id: int,
    files: bytes,
    data_dir: Path | None,
    settings: JobSettings,
) -> bool:
    submission_id = int(job["submission"])
    lost: list[BaseException] = []

    def heartbeat(done: int | None, loss: float | None) -> bool:
        if loss is not None and loss != loss:  # NaN: not JSON
            loss = None
        try:
            return platform.heartbeat(run_id, progress_bytes=done, loss=loss)
        except PlatformUnavailableError as exc:  # keep training; the next beat may get through
            log.warning("heartbeat of run %s not delivered: %s", run_id, exc)
            return True
        except (JobRefusedError, TokenRefusedError) as exc:
            lost.append(exc)
            return False

    with tempfile.TemporaryDirectory(prefix="crucible-submission-") as folder:
        try:
            extract_folder(files, folder="", dest=Path(folder), limits=FILES_LIMITS)
        except UnsafeArchive as exc:
            reason = f"the submission's files were refused: {exc}"
            platform.fail(submission_id, reason=reason, platform_fault=True)
            return False
        outcome = engine_run(
            spec=str(job["spec"]),
            definition=job.get("definition"),
            data_dir=data_dir,
            folder=Path(folder),
            seed=seed,
            byte_budget=job.get("byte_budget"),
            on_progress=heartbeat,
            heartbeat_seconds=settings.heartbeat_seconds,
            timeout=settings.run_timeout,
        )
    if lost:
        if isinstance(lost[0], TokenRefusedError):
            raise lost[0]
        log.info("run %s stopped: %s", run_id, lost[0])
        return False
    try:
        return platform.run_result(
            run_id,
            {
                "result": outcome.result,
                "exit_status": outcome.exit_status,
                "output_tail": outcome.output_tail,
                "cancelled": outcome.cancelled,
                "timed_out": outcome.timed_out,
            },
        )
    except JobRefusedError as exc:  # the run was taken back meanwhile (reaped, say)
        log.warning("the result of run %s was refused: %s", run_id, exc)
        return False
