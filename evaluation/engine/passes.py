"""One sandboxed pass of the worker, and the harness's side of its protocol.

The worker (``worker.py``) is started in the sandbox with two named pipes per process (one
process, or one per rank under ``torchrun``): data in, frames out (``kind | length |
payload``; see ``worker.py``). Everything that comes back is untrusted:
frames are size-capped before any allocation, JSON records are parsed strictly and counted
(:class:`RecordBook`), training data is served one request at a time and counted by the
harness (:class:`TrainingFeed`), and any breach ends the pass as the submission's failure.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import struct
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .channels import Channels, launcher
from .sandbox import Sandbox
from .supervise import Limits, Outcome, SandboxProcess

ENGINE_DIR = Path(__file__).resolve().parent
REFERENCE_DIR = ENGINE_DIR / "reference"
WORKER_FILE = ENGINE_DIR / "worker.py"
VOCAB_SIZE = 256
HEADER = struct.Struct("<cQ")
FRAME_KINDS = (b"J", b"C", b"L", b"R")
MAX_RECORD_BYTES = 64 << 10  # one JSON record from the worker
MAX_RECORD_TEXT = 4000  # characters kept of a string in a record
MIN_CHECKPOINT_CHUNK = 64 << 10  # the checkpoint comes in chunks of at least this (but the last)
MAX_CHECKPOINT_CHUNK = 1 << 20  # the worker's CHUNK
OTHER_RECORDS = 8  # summary and error records a pass may send besides progress


class RunFailedError(Exception):
    """Ends an evaluation; ``status`` is 'failed' or 'rejected'; ``fault`` says whose it is
    ('submission' or 'platform': the platform does not charge its own faults to anyone)."""

    def __init__(
        self, status: str, message: str, *, fault: str = "submission", private: str = ""
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fault = fault
        self.private = private  # details that may quote private held-out text


@dataclass(frozen=True)
class PassContext:
    """What every pass of one evaluation shares: the sandbox, the submission's files, the job
    description the worker reads, its thread count, and the limits for a pass of a given
    wall-clock cap."""

    sandbox: Sandbox
    files: dict[str, bytes]
    job: dict[str, Any]
    threads: int
    limits: Callable[[float], Limits]


@dataclass
class PassResult:
    outcome: Outcome
    records: list[dict[str, Any]]
    error: str | None


def stage(job_dir: Path, files: dict[str, bytes], job: dict[str, Any]) -> None:
    sub = job_dir / "submission"
    for rel, content in files.items():
        target = sub / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    if "model.py" not in files:  # config-only submission: the reference model
        for name in ("model.py", "optimizer.py"):
            if (REFERENCE_DIR / name).exists():
                shutil.copy(REFERENCE_DIR / name, sub / name)
    shutil.copy(WORKER_FILE, job_dir / "worker.py")
    (job_dir / "job.json").write_text(json.dumps(job))
    for path in [job_dir, *job_dir.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def _frames(fd: int, max_frame: int) -> Iterator[tuple[bytes, bytes]]:
    """Frames from the worker until EOF. The worker is untrusted: sizes are capped before any
    allocation, and a truncated stream just ends the iteration."""
    with os.fdopen(fd, "rb", buffering=1 << 20, closefd=True) as stream:
        while True:
            header = stream.read(HEADER.size)
            if len(header) < HEADER.size:
                return
            kind, length = HEADER.unpack(header)
            if kind not in FRAME_KINDS or length > max_frame or (kind == b"R") != (length == 0):
                raise RunFailedError(
                    "failed", f"the worker sent a malformed frame ({kind!r}, {length} bytes)"
                )
            payload = stream.read(length)
            if len(payload) < length:
                return
            yield kind, payload


_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: str) -> str:
    """``text`` as any database and terminal takes it: lone surrogates replaced, control
    characters (NUL included) but tab and newlines dropped."""
    return _CONTROL.sub("", text.encode("utf-8", "replace").decode("utf-8"))


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None (strict JSON has no NaN) and
    every string cleaned (:func:`clean_text`): any database can store it."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _scalar(value: Any) -> bool:
    if value is None or isinstance(value, bool | str):
        return True
    if isinstance(value, int):
        return abs(value) < 1 << 63
    return isinstance(value, float) and math.isfinite(value)


def parse_record(payload: bytes) -> dict[str, Any]:
    """One JSON record from the worker, strictly: a flat object of finite numbers, strings,
    booleans and nulls, at most ``MAX_RECORD_BYTES``. Anything else is the submission's fault
    (its code shares the worker's process and can write to the pipe)."""
    if len(payload) > MAX_RECORD_BYTES:
        raise RunFailedError(
            "failed",
            f"the worker sent a record of {len(payload):,} bytes (at most "
            f"{MAX_RECORD_BYTES >> 10} KiB)",
        )
    try:
        record = json.loads(payload, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise RunFailedError(
            "failed",
            f"the worker sent a record that is not valid JSON ({type(exc).__name__}: "
            f"{str(exc)[:200]})",
        ) from None
    if not isinstance(record, dict) or not all(_scalar(v) for v in record.values()):
        raise RunFailedError(
            "failed",
            "the worker sent a record that is not a flat JSON object of finite numbers and strings",
        )
    return {
        clean_text(key[:100]): clean_text(value[:MAX_RECORD_TEXT])
        if isinstance(value, str)
        else value
        for key, value in record.items()
    }


class RecordBook:
    """The records of one pass, with caps that keep the harness's memory bounded whatever the
    worker sends: at most one progress record per ``log_every`` served steps (plus the first
    and the last), and a few others (summary, error)."""

    def __init__(self, *, log_every: int = 1) -> None:
        self.log_every = max(1, log_every)
        self.progress = 0
        self.others: list[dict[str, Any]] = []

    def add(self, payload: bytes, *, served_steps: int = 0, rank: int = 0) -> dict[str, Any]:
        """One record from ``rank``; the ranks after the first (under ``torchrun``) may only
        report an error: progress and the summary are the first rank's alone."""
        record = parse_record(payload)
        if rank and record.get("type") != "error":
            raise RunFailedError(
                "failed",
                f"rank {rank} sent a {str(record.get('type'))[:40]!r} record: only the first "
                "process reports progress and the summary",
            )
        if record.get("type") == "progress":
            self.progress += 1
            allowed = served_steps // self.log_every + 2
            if self.progress > allowed:
                raise RunFailedError(
                    "failed",
                    f"the worker sent {self.progress} progress records after {served_steps} "
                    f"training steps (at most one every {self.log_every} steps)",
                )
            return record
        if len(self.others) >= OTHER_RECORDS:
            raise RunFailedError("failed", "the worker sent too many records")
        self.others.append(record)
        return record

    @property
    def error(self) -> str | None:
        found = next((r for r in self.others if r.get("type") == "error"), None)
        return None if found is None else str(found.get("message", ""))

    def summary(self) -> dict[str, Any] | None:
        return next((r for r in self.others if r.get("type") == "summary"), None)


class Lockstep:
    """Serves ``chunks`` one at a time: the next only once the worker has answered the last
    (:meth:`answered`), so it never sees rows beyond the batch it must answer."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._turns = threading.Semaphore(1)
        self._closed = False

    def answered(self) -> None:
        self._turns.release()

    def close(self) -> None:
        """The worker is gone: stop waiting for its answers."""
        self._closed = True
        self._turns.release()

    def __call__(self, fds: list[int]) -> None:
        try:
            for chunk in self._chunks:
                self._turns.acquire()
                if self._closed:
                    return
                write_all(fds[0], chunk)
        except OSError:  # the worker exited or closed its end
            pass


def write_all(fd: int, chunk: bytes) -> None:
    view = memoryview(chunk)
    while view:
        view = view[os.write(fd, view) :]


def run_pass(
    ctx: PassContext,
    *,
    mode: str,
    wall_s: float,
    feed: Callable[[list[int]], None],
    on_frame: Callable[[int, bytes, bytes, dict[str, Any] | None], None],
    checkpoint: Path | None = None,
    on_end: Callable[[], None] | None = None,
    on_start: Callable[[SandboxProcess], None] | None = None,
    served_steps: Callable[[], int] = lambda: 0,
    ranks: int = 1,
) -> PassResult:
    """Run one worker process (``ranks`` of them, under ``torchrun``) in the sandbox, under
    ``wall_s``: ``feed(fds)`` writes their input, one data FIFO per rank (in a thread);
    ``on_frame(rank, kind, payload, record)`` takes each frame a rank sends back (``record``: a
    JSON record, parsed and counted by a :class:`RecordBook`); ``on_start`` gets the started
    process (to kill it on a deadline of the caller's), ``on_end`` runs once it is gone."""
    with tempfile.TemporaryDirectory(prefix=f"crucible-{mode}-") as tmp:
        job_dir = Path(tmp) / "job"
        scratch = Path(tmp) / "scratch"
        job_dir.mkdir()
        scratch.mkdir()
        scratch.chmod(0o1777)
        stage(job_dir, ctx.files, ctx.job)
        if checkpoint is not None:
            shutil.copy(checkpoint, job_dir / "checkpoint.pt")
            (job_dir / "checkpoint.pt").chmod(0o644)
        channels = Channels(job_dir, ranks)
        try:
            process = ctx.sandbox.start(
                job_dir=job_dir,
                scratch_dir=scratch,
                worker_args=[mode, "{ROOT}", "{ROOT}/rank{rank}.data", "{ROOT}/rank{rank}.msg"],
                limits=ctx.limits(wall_s),
                launcher=launcher(ranks),
                threads=ctx.threads,
            )
        except BaseException:
            channels.close()
            raise
        channels.release_on_exit(process)
        if on_start is not None:
            on_start(process)

        def feeder() -> None:
            try:
                feed(channels.data)
            finally:
                for fd in channels.data:
                    os.close(fd)

        feeding = threading.Thread(target=feeder, daemon=True)
        feeding.start()
        book = RecordBook(log_every=ctx.job["log_every"])
        lock = threading.Lock()
        failures: list[RunFailedError] = []
        max_frame = max(
            MAX_CHECKPOINT_CHUNK,
            ctx.job["eval_batch_size"] * ctx.job["block_size"] * VOCAB_SIZE * 4,
        )

        def read(rank: int) -> None:
            try:
                for kind, payload in _frames(channels.msg[rank], max_frame):
                    with lock:
                        if failures:
                            return
                        record = None
                        if kind == b"J":
                            record = book.add(payload, served_steps=served_steps(), rank=rank)
                        on_frame(rank, kind, payload, record)
            except RunFailedError as exc:
                with lock:
                    failures.append(exc)
                process.kill(f"broke the harness protocol: {exc.message}")

        readers = [threading.Thread(target=read, args=(r,), daemon=True) for r in range(1, ranks)]
        for reader in readers:
            reader.start()
        try:
            read(0)
        finally:
            outcome = process.wait()
            channels.release()
            if on_end is not None:
                on_end()
            for reader in readers:
                reader.join(timeout=10)
            feeding.join(timeout=10)
        if failures:
            raise failures[0]
        return PassResult(outcome=outcome, records=book.others, error=book.error)


def explain_withheld(pass_name: str, result: PassResult) -> RunFailedError:
    """A failed pass that held private held-out text: what it printed and any error it sent
    may quote that text (a model can print its inputs), so the public message says only how
    it ended; the details go to ``private`` (the engine's own result, not the platform's)."""
    outcome = result.outcome
    how = outcome.killed_reason or f"exited with code {outcome.returncode} without a result"
    if result.error and not outcome.killed_reason:
        how = "reported an error"
    return RunFailedError(
        "failed",
        f"the {pass_name} process {how}; what it printed and reported is withheld, because it "
        "held the benchmark's private held-out text (run the submission on a practice "
        "benchmark, or locally, to see it)",
        private=explain(pass_name, result),
    )


def explain(pass_name: str, result: PassResult) -> str:
    outcome = result.outcome
    if outcome.killed_reason:
        hint = ""
        if "wall-clock" in outcome.killed_reason:
            hint = (
                " (an endless loop, a far too slow model, or a blocking call?) — make the "
                "model faster or smaller"
            )
        message = f"the {pass_name} process {outcome.killed_reason}{hint}"
        if result.error:
            message += f"; it reported: {result.error}"
        return message
    if result.error:
        return f"{pass_name}: {result.error}"
    return (
        f"the {pass_name} process exited with code {outcome.returncode} without a result; "
        f"log tail:\n{outcome.log_tail(1500)}"
    )
