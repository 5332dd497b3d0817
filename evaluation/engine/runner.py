"""Train a submission under a benchmark's budget and score it: the harness side.

One evaluation is three sandboxed processes, each fresh and each a uid of its own (see
``sandbox.py``), none of which computes the score:

1. **train**: the worker asks for each training micro-batch and the harness serves it, counting
   the bytes and the steps, and keeping the clock: at the byte budget, or at the training
   deadline (``train_wall_s`` after the first request), it stops serving (end of file). The
   checkpoint bytes come back (capped) and the harness reads the parameter count from the
   checkpoint itself (tensors only, memory-mapped) and enforces ``max_params`` there.
2. **score** and 3. **probe**: two fresh processes load the checkpoint and return the logits for
   the rows they are served (inputs only; the targets stay here). The harness computes
   log-softmax in float64 and the bits per byte from the scoring pass.

Whatever the worker reports about itself (training loss, learning rate, peak memory, the
architecture's dimensions) is kept under ``reported`` in the result: submission code shares
the worker's address space and could alter it.

The causality probe, and why it holds against a model that tries to pass it (see
:func:`_pass_layout`):

- Both logits passes are built alike and in secret (``secrets``): every scored window once,
  untouched; ``block_size - 1`` *spliced* rows, one per cut position ``c`` in ``0..T-2``, in which
  a scored window keeps bytes ``0..c`` and continues with another window's bytes (one that has
  the same byte at ``c``, so the splice reads like text); and decoy rows from the training text,
  never scored, that pad every batch to the same full size. Rows are shuffled into batches so
  that no batch holds two rows made from the same window or from neighbouring windows.
- Every untouched window must get the same log-probabilities, at every position, in both passes
  (it sits among other rows, in another batch, at another place): a model that reads other rows
  of the batch, counts its calls, or tells the passes apart moves them. Every spliced row must
  match its window's untouched row of the *other* pass at positions ``0..c``: a model whose
  prediction at ``t`` reads any byte after ``t`` is caught at the cut ``c = t``, and every ``t`` is
  a cut in both passes, so a single-position look-ahead fails on every seed, not by chance.
- Each pass is a fresh process with a fresh uid and a fresh ``/tmp``, ``/dev/shm``, IPC and
  network namespace, and key rings are blocked: nothing of one pass reaches the other.
- The tolerance (``causality_atol_*``, nats) only absorbs float noise; a model could cheat by
  less than that, which is worth at most that many nats on the checked positions. On the CPU
  every batch has the same shape, so an honest model's rows come out bit for bit the same.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import queue
import secrets
import shutil
import struct
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from . import data, metrics
from .sandbox import Limits, Outcome, Sandbox, SandboxUnavailableError
from .specs import BenchmarkSpec, config_errors, config_resolve

ENGINE_DIR = Path(__file__).resolve().parent
REFERENCE_DIR = ENGINE_DIR / "reference"
WORKER_FILE = ENGINE_DIR / "worker.py"
VOCAB_SIZE = 256
MAX_SUBMISSION_BYTES = 4 << 20
MAX_SUBMISSION_FILES = 64
HEADER = struct.Struct("<cQ")
FRAME_KINDS = (b"J", b"C", b"L", b"R")
MAX_RECORD_BYTES = 64 << 10  # one JSON record from the worker
MAX_RECORD_TEXT = 4000  # characters kept of a string in a record
MIN_CHECKPOINT_CHUNK = 64 << 10  # the checkpoint comes in chunks of at least this (but the last)
MAX_CHECKPOINT_CHUNK = 1 << 20  # the worker's CHUNK
OTHER_RECORDS = 8  # summary and error records a pass may send besides progress

Progress = Callable[[str], None]


class RunFailedError(Exception):
    """Ends an evaluation; ``status`` is 'failed' or 'rejected'; ``fault`` says whose it is
    ('submission' or 'platform': the platform does not charge its own faults to anyone)."""

    def __init__(self, status: str, message: str, *, fault: str = "submission") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fault = fault


@dataclass
class PassResult:
    outcome: Outcome
    records: list[dict[str, Any]]
    error: str | None


# -- submission staging ---------------------------------------------------------------------


def _read_submission(folder: Path) -> tuple[dict[str, bytes], dict[str, Any]]:
    if not folder.is_dir():
        raise RunFailedError("failed", f"submission folder {folder} does not exist")
    files: dict[str, bytes] = {}
    total = 0
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
            continue
        if path.is_symlink():
            raise RunFailedError(
                "rejected", f"{rel}: symbolic links are not allowed in a submission"
            )
        if path.is_dir():
            continue
        total += path.stat().st_size
        if len(files) >= MAX_SUBMISSION_FILES or total > MAX_SUBMISSION_BYTES:
            raise RunFailedError(
                "rejected",
                f"submission too large (at most {MAX_SUBMISSION_FILES} files, "
                f"{MAX_SUBMISSION_BYTES >> 20} MiB)",
            )
        files[str(rel)] = path.read_bytes()
    if "config.json" not in files:
        raise RunFailedError("rejected", "the submission has no config.json (use {} for defaults)")
    try:
        config = json.loads(files["config.json"])
    except ValueError as exc:
        raise RunFailedError("rejected", f"config.json is not valid JSON: {exc}") from exc
    return files, config


def _digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _reference_digests() -> dict[str, str]:
    files, _config = _read_submission(REFERENCE_DIR)
    return {name: _digest(content) for name, content in files.items() if name != "config.json"}


def is_reference_code(files: dict[str, bytes]) -> bool:
    """True when the only code in ``files`` is the platform's reference, byte for byte.

    Trust goes by content, never by which files are missing: ``config.json`` plus any of the
    reference's own files with their exact sha256. One more file of any name (a ``resource.py``,
    a ``sitecustomize.py``), or one changed byte, and the submission is untrusted code."""
    reference = _reference_digests()
    return all(
        name == "config.json" or reference.get(name) == _digest(content)
        for name, content in files.items()
    )


def _stage(job_dir: Path, files: dict[str, bytes], job: dict[str, Any]) -> None:
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


# -- one sandboxed pass ---------------------------------------------------------------------


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
        key[:100]: value[:MAX_RECORD_TEXT] if isinstance(value, str) else value
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

    def add(self, payload: bytes, *, served_steps: int = 0) -> dict[str, Any]:
        record = parse_record(payload)
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


def _stream(chunks: Iterable[bytes]) -> Callable[[int], None]:
    """A feeder that writes ``chunks`` to the worker's data pipe as fast as it reads them."""

    def feed(fd: int) -> None:
        try:
            for chunk in chunks:
                _write_all(fd, chunk)
        except OSError:  # the worker exited or closed its end
            pass

    return feed


def _write_all(fd: int, chunk: bytes) -> None:
    view = memoryview(chunk)
    while view:
        view = view[os.write(fd, view) :]


@dataclass
class TrainingFeed:
    """Serves training micro-batches one request at a time and keeps the books: the bytes and
    whole steps served and the clock are the harness's own, and so is the training deadline.

    The clock starts at the first request (imports, the model's build and anything done before
    come out of the startup grace); from then on serving stops at the budget or when a step
    would start after ``wall_s``, and the worker sees the end of its data."""

    sampler: data.BatchSampler
    micro: int
    accum: int
    steps: int
    block: int
    wall_s: float
    served: int = 0  # micro-batches
    first_at: float | None = None
    second_step_at: float | None = None
    requests: int = 0
    stopped_by_clock: bool = False
    _pending: queue.SimpleQueue[bool] = field(default_factory=queue.SimpleQueue)

    @property
    def steps_served(self) -> int:
        return self.served // self.accum

    @property
    def bytes_served(self) -> int:
        return self.steps_served * self.accum * self.micro * self.block

    def request(self) -> None:
        """A request frame arrived (called from the thread that reads frames)."""
        self.requests += 1
        if self.requests > self.steps * self.accum + 1:
            raise RunFailedError(
                "failed", "the worker kept asking for training data after the harness stopped"
            )
        self._pending.put(True)

    def close(self) -> None:
        self._pending.put(False)

    def __call__(self, fd: int) -> None:
        try:
            while self.served < self.steps * self.accum and self._pending.get():
                now = time.monotonic()
                if self.first_at is None:
                    self.first_at = now
                if self.served % self.accum == 0 and self.served:
                    if now - self.first_at > self.wall_s:
                        self.stopped_by_clock = True
                        return
                    if self.served == self.accum:
                        self.second_step_at = now
                _write_all(fd, self.sampler.next_batch(self.micro))
                self.served += 1
        except OSError:
            pass

    def elapsed(self, now: float | None = None) -> float:
        if self.first_at is None:
            return 0.0
        return (now or time.monotonic()) - self.first_at


def _run_pass(
    sandbox: Sandbox,
    *,
    mode: str,
    files: dict[str, bytes],
    job: dict[str, Any],
    limits: Limits,
    feed: Callable[[int], None],
    on_frame: Callable[[bytes, bytes, dict[str, Any] | None], None],
    threads: int,
    checkpoint: Path | None = None,
    on_end: Callable[[], None] | None = None,
    served_steps: Callable[[], int] = lambda: 0,
) -> PassResult:
    """Run one worker process in the sandbox: ``feed(fd)`` writes its input (in a thread),
    ``on_frame(kind, payload, record)`` takes each frame it sends back (``record``: a JSON
    record, parsed and counted by a :class:`RecordBook`); ``on_end`` runs once the process is
    gone."""
    with tempfile.TemporaryDirectory(prefix=f"crucible-{mode}-") as tmp:
        job_dir = Path(tmp) / "job"
        scratch = Path(tmp) / "scratch"
        job_dir.mkdir()
        scratch.mkdir()
        scratch.chmod(0o1777)
        _stage(job_dir, files, job)
        if checkpoint is not None:
            shutil.copy(checkpoint, job_dir / "checkpoint.pt")
            (job_dir / "checkpoint.pt").chmod(0o644)
        data_r, data_w = os.pipe()
        msg_r, msg_w = os.pipe()
        try:
            process = sandbox.start(
                job_dir=job_dir,
                scratch_dir=scratch,
                worker_args=[mode, "{ROOT}", str(data_r), str(msg_w)],
                limits=limits,
                pass_fds=(data_r, msg_w),
                threads=threads,
            )
        finally:
            os.close(data_r)
            os.close(msg_w)

        def feeder() -> None:
            try:
                feed(data_w)
            finally:
                os.close(data_w)

        feeding = threading.Thread(target=feeder, daemon=True)
        feeding.start()
        book = RecordBook(log_every=job["log_every"])
        try:
            max_frame = max(
                MAX_CHECKPOINT_CHUNK, job["eval_batch_size"] * job["block_size"] * VOCAB_SIZE * 4
            )
            for kind, payload in _frames(msg_r, max_frame):
                record = book.add(payload, served_steps=served_steps()) if kind == b"J" else None
                on_frame(kind, payload, record)
        except RunFailedError as exc:
            process.kill(f"broke the harness protocol: {exc.message}")
            raise
        finally:
            outcome = process.wait()
            if on_end is not None:
                on_end()
            feeding.join(timeout=10)
        return PassResult(outcome=outcome, records=book.others, error=book.error)


def _explain(pass_name: str, result: PassResult) -> str:
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


# -- scoring and the causality probe ---------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One row of a logits pass: scored window ``window`` (or a decoy: ``window`` < 0), either
    untouched or spliced after position ``cut`` with the bytes of window ``donor``."""

    window: int
    cut: int | None = None
    donor: int = -1
    decoy: bytes = b""


def _donor(windows: list[bytes], index: int, cut: int, rng: secrets.SystemRandom) -> int:
    """Another window with the same byte at ``cut`` and a different one right after it."""
    here = windows[index]
    donors = [
        j
        for j, other in enumerate(windows)
        if j != index and other[cut] == here[cut] and other[cut + 1] != here[cut + 1]
    ]
    return rng.choice(donors or [j for j in range(len(windows)) if j != index])


def _pass_layout(
    windows: list[bytes],
    *,
    block: int,
    batch: int,
    decoy_source: bytes,
    rng: secrets.SystemRandom,
) -> list[Row]:
    """The rows of one logits pass, in the order served (see the module docstring).

    Every scored window once untouched; one spliced row for each cut ``0..block-2``, on windows
    drawn without replacement while they last; decoys from ``decoy_source`` (training text) to
    fill every batch, at least one batch's worth. No batch holds two rows made from the same or
    from neighbouring windows (they share text a model could read across rows)."""
    rows = [Row(window=i) for i in range(len(windows))]
    cuts = list(range(block - 1))
    rng.shuffle(cuts)
    pool: list[int] = []
    for cut in cuts:
        if not pool:
            pool = list(range(len(windows)))
            rng.shuffle(pool)
        index = pool.pop()
        rows.append(Row(window=index, cut=cut, donor=_donor(windows, index, cut, rng)))
    total = -(-(len(rows) + batch) // batch) * batch
    while len(rows) < total:
        start = rng.randrange(0, len(decoy_source) - block - 1)
        rows.append(Row(window=-1, decoy=decoy_source[start : start + block + 1]))
    return _arrange(rows, batch=batch, rng=rng)


def _arrange(rows: list[Row], *, batch: int, rng: secrets.SystemRandom) -> list[Row]:
    """Rows shuffled into full batches so that rows sharing a window or a neighbour never meet;
    the most constrained rows are placed first, into a random batch that has room."""
    batches = len(rows) // batch

    def keys(row: Row) -> set[int]:
        return set() if row.window < 0 else {row.window, row.window + 1}

    for _attempt in range(50):
        order = list(range(len(rows)))
        rng.shuffle(order)
        order.sort(key=lambda i: rows[i].window < 0)
        bins: list[list[Row]] = [[] for _ in range(batches)]
        used: list[set[int]] = [set() for _ in range(batches)]
        for i in order:
            row_keys = keys(rows[i])
            room = [b for b in range(batches) if len(bins[b]) < batch and not row_keys & used[b]]
            if not room:
                break
            chosen = rng.choice(room)
            bins[chosen].append(rows[i])
            used[chosen] |= row_keys
        else:
            for rows_in_bin in bins:
                rng.shuffle(rows_in_bin)
            rng.shuffle(bins)
            return [row for rows_in_bin in bins for row in rows_in_bin]
    # Only a benchmark with very few windows per batch gets here: serve a plain shuffle.
    shuffled = list(rows)
    rng.shuffle(shuffled)
    return shuffled


def _row_input(row: Row, windows: list[bytes], block: int) -> bytes:
    if row.window < 0:
        return row.decoy[:block]
    if row.cut is None:
        return windows[row.window][:block]
    return windows[row.window][: row.cut + 1] + windows[row.donor][row.cut + 1 : block]


def _row_target(row: Row, windows: list[bytes]) -> bytes:
    return row.decoy[1:] if row.window < 0 else windows[row.window][1:]


def _logits_pass(
    sandbox: Sandbox,
    *,
    name: str,
    files: dict[str, bytes],
    job: dict[str, Any],
    limits: Limits,
    rows: list[Row],
    windows: list[bytes],
    threads: int,
    checkpoint: Path,
) -> torch.Tensor:
    """Log-probabilities ``[len(rows), T]`` (float64) of each row's true next bytes (its own
    window's, for a spliced row), from logits the model returns for the rows' inputs."""
    block = job["block_size"]
    batch = job["eval_batch_size"]
    count = len(rows)
    out = torch.empty((count, block), dtype=torch.float64)
    filled = 0

    def chunks() -> Iterator[bytes]:
        for start in range(0, count, batch):
            yield b"".join(_row_input(row, windows, block) for row in rows[start : start + batch])

    def on_frame(kind: bytes, payload: bytes, _record: dict[str, Any] | None) -> None:
        nonlocal filled
        if kind != b"L":
            return
        size = min(batch, count - filled)
        if size <= 0 or len(payload) != size * block * VOCAB_SIZE * 4:
            raise RunFailedError("failed", f"{name}: the model returned logits of the wrong size")
        logits = torch.frombuffer(bytearray(payload), dtype=torch.float32)
        logits = logits.view(size, block, VOCAB_SIZE)
        if not torch.isfinite(logits).all():
            raise RunFailedError(
                "failed", f"{name}: the model produced NaN or infinite logits on validation data"
            )
        target = torch.frombuffer(
            bytearray(b"".join(_row_target(row, windows) for row in rows[filled : filled + size])),
            dtype=torch.uint8,
        )
        out[filled : filled + size] = metrics.target_log_probs(
            logits, target.view(size, block).long()
        )
        filled += size

    result = _run_pass(
        sandbox,
        mode="logits",
        files=files,
        job=job,
        limits=limits,
        feed=_stream(chunks()),
        on_frame=on_frame,
        threads=threads,
        checkpoint=checkpoint,
    )
    if result.error or result.outcome.killed_reason or result.outcome.returncode != 0:
        raise RunFailedError("failed", _explain(name, result))
    if filled != count:
        raise RunFailedError(
            "failed", f"{name}: the model returned logits for {filled}/{count} rows"
        )
    return out


@dataclass
class Mismatch:
    diff: float
    row: Row
    position: int


@dataclass
class Consistency:
    """The worst difference between the two logits passes, apart for untouched rows (the same
    bytes among other rows) and spliced rows (positions ``0..cut`` after a splice)."""

    untouched: Mismatch | None = None
    spliced: Mismatch | None = None
    checked: int = 0

    def note(self, row: Row, diff: torch.Tensor) -> None:
        self.checked += len(diff)
        position = int(diff.argmax())
        found = Mismatch(diff=float(diff[position]), row=row, position=position)
        worst = self.untouched if row.cut is None else self.spliced
        if worst is None or found.diff > worst.diff:
            if row.cut is None:
                self.untouched = found
            else:
                self.spliced = found

    @property
    def worst(self) -> float:
        return max((m.diff for m in (self.untouched, self.spliced) if m is not None), default=0.0)

    def failure(self, atol: float) -> Mismatch | None:
        """The mismatch to report, if any exceeds ``atol``: a row that changed with its company
        explains everything else, so it comes first."""
        for mismatch in (self.untouched, self.spliced):
            if mismatch is not None and not mismatch.diff <= atol:
                return mismatch
        return None


def _consistency(
    first: tuple[list[Row], torch.Tensor], second: tuple[list[Row], torch.Tensor], count: int
) -> Consistency:
    """Every checked position of either pass against the other pass's untouched row of the
    same window: untouched rows at every position (once per pair), spliced rows at ``0..cut``."""
    found = Consistency()
    for (rows, values), (other_rows, other_values) in ((first, second), (second, first)):
        untouched = torch.empty((count, values.shape[1]), dtype=torch.float64)
        for index, row in enumerate(other_rows):
            if row.window >= 0 and row.cut is None:
                untouched[row.window] = other_values[index]
        for index, row in enumerate(rows):
            if row.window < 0 or (row.cut is None and rows is second[0]):
                continue  # decoys are not compared; untouched pairs once
            limit = values.shape[1] if row.cut is None else row.cut + 1
            diff = (values[index, :limit] - untouched[row.window, :limit]).abs()
            found.note(row, torch.nan_to_num(diff, nan=math.inf))
    return found


def _causality_error(mismatch: Mismatch, atol: float) -> str:
    row = mismatch.row
    if row.cut is None:
        where = (
            f"window {row.window}, position {mismatch.position}: the same bytes, served among "
            "other rows and in another batch, got a different prediction"
        )
    else:
        where = (
            f"window {row.window}, position {mismatch.position}: only bytes after position "
            f"{row.cut} changed, yet the prediction there moved"
        )
    return (
        f"causality check failed at {where} ({mismatch.diff:.4g} nats; tolerance {atol:g}). "
        "The model must predict byte t+1 from bytes 0..t of its own row only: no look-ahead, no "
        "reading other rows of the batch, no state between calls, deterministic in eval mode."
    )


# -- the checkpoint --------------------------------------------------------------------------


def checkpoint_numbers(path: Path) -> tuple[int, int]:
    """(numbers stored, numbers outside ``[256, ·]`` matrices) in a trained checkpoint.

    Read by the harness itself, safely: ``torch.load(weights_only=True, mmap=True)`` unpickles
    tensors and plain containers only and maps the data instead of reading it. Each storage is
    counted once (tied weights share one), whole (a view cannot hide the rest of its storage).
    The second figure leaves out the byte embedding and output matrices, for the MFU formula."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:  # noqa: BLE001 - any refusal of an untrusted file
        raise RunFailedError(
            "failed", f"the trained checkpoint is not a state_dict of tensors: {str(exc)[:300]}"
        ) from None
    if not isinstance(state, dict) or not all(
        isinstance(key, str) and isinstance(value, torch.Tensor) for key, value in state.items()
    ):
        raise RunFailedError(
            "failed", "the trained checkpoint must be a flat state_dict: names to tensors"
        )
    seen: set[tuple[int, int]] = set()
    total = embedding = 0
    for tensor in state.values():
        storage = tensor.untyped_storage()
        key = (storage.data_ptr(), storage.nbytes())
        if key in seen:
            continue
        seen.add(key)
        numbers = storage.nbytes() // max(1, tensor.element_size())
        total += numbers
        if tensor.dim() == 2 and VOCAB_SIZE in tensor.shape:
            embedding += numbers
    return total, total - embedding


# -- the evaluation -------------------------------------------------------------------------


def _resolve_device(spec: BenchmarkSpec, device: str | None) -> str:
    wanted = device or spec.device
    if wanted == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if wanted == "cuda" and not torch.cuda.is_available():
        raise RunFailedError(
            "failed",
            f"benchmark {spec.name} runs on a CUDA GPU and none is available here "
            "(pass --device cpu to try it on the CPU, unofficially)",
            fault="platform",
        )
    return wanted


def run_benchmark(
    spec: BenchmarkSpec,
    submission: Path,
    *,
    seed: int,
    device: str | None = None,
    unsafe_no_sandbox: bool = False,
    threads: int | None = None,
    progress: Progress | None = print,
) -> dict[str, Any]:
    """Train and score ``submission`` on ``spec``; never raises for a submission's fault.

    Returns the JSON-able result (see ``__init__``'s docstring for the fields); it holds no
    NaN or infinity, so it is always strict JSON.
    """
    started = time.perf_counter()
    result: dict[str, Any] = {
        "benchmark": spec.name,
        "seed": seed,
        "status": "failed",
        "error": None,
        "fault": None,
        "val_bits_per_byte": None,
        "loss_curve": [],
        "bytes_per_second": None,
        "mfu": None,
        "param_count": None,
        "device": None,
        "device_name": None,
        "torch_version": torch.__version__,
        "bytes_trained": 0,
        "byte_budget": spec.steps * spec.batch_size * spec.block_size,
        "steps": 0,
        "train_seconds": None,
        "stopped_early": False,
        "scored_bytes": spec.scored_bytes,
        "causality": None,
        "sandbox": None,
        "reported": {},
        "log_tail": "",
        "wall_seconds": None,
    }
    say = progress or (lambda _line: None)
    try:
        _evaluate(spec, submission, seed, device, unsafe_no_sandbox, threads, say, result)
        result["status"] = "ok"
    except RunFailedError as exc:
        result["status"] = exc.status
        result["error"] = exc.message
        result["fault"] = exc.fault
    except (SandboxUnavailableError, data.CorpusError) as exc:
        result["status"] = "failed"
        result["error"] = f"platform error: {exc}"
        result["fault"] = "platform"
    except Exception as exc:  # noqa: BLE001 - a harness bug must still produce a result
        result["status"] = "failed"
        result["fault"] = "platform"
        result["error"] = (
            "engine error (not the submission's fault; please report): "
            + "".join(traceback.format_exception(exc, limit=-3))[-2000:]
        )
    result["wall_seconds"] = round(time.perf_counter() - started, 3)
    if result["status"] != "ok":
        say(f"{result['status'].upper()}: {result['error']}")
    return json_safe(result)


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None (strict JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def _device_name(device: str) -> str:
    return torch.cuda.get_device_name(0) if device == "cuda" else "cpu"


def _evaluate(
    spec: BenchmarkSpec,
    submission: Path,
    seed: int,
    device_arg: str | None,
    unsafe_no_sandbox: bool,
    threads_arg: int | None,
    say: Progress,
    result: dict[str, Any],
) -> None:
    files, raw_config = _read_submission(submission)
    problems = config_errors(spec, raw_config)
    if problems:
        detail = "; ".join(f"{key}: {message}" for key, message in problems)
        raise RunFailedError("rejected", f"config.json is not valid for {spec.name}: {detail}")
    config = config_resolve(spec, raw_config)
    device = _resolve_device(spec, device_arg)
    result["device"] = device
    result["device_name"] = _device_name(device)
    threads = threads_arg or torch.get_num_threads()
    reference = is_reference_code(files)
    sandbox = Sandbox(
        unsafe_no_sandbox=unsafe_no_sandbox, reference_code=reference, gpu=device == "cuda"
    )
    result["sandbox"] = sandbox.describe()
    train_split, val_split = data.corpus_split(spec.corpus)
    windows = data.eval_windows(val_split, spec.block_size, spec.eval_windows)

    micro = config["micro_batch_size"] or spec.batch_size
    job = {
        "block_size": spec.block_size,
        "batch_size": spec.batch_size,
        "micro_batch_size": micro,
        "steps": spec.steps,
        "log_every": spec.log_every,
        "max_params": spec.max_params,
        "eval_batch_size": spec.eval_batch_size,
        "config": config,
        "device": device,
        "seed": seed,
        "threads": threads,
    }

    def limits(wall_s: float) -> Limits:
        cpu_threads = max(threads, os.cpu_count() or 1) if device == "cuda" else threads
        return Limits(
            wall_s=wall_s,
            cpu_s=int(wall_s * cpu_threads + 60),
            file_size_bytes=spec.scratch_bytes,
            scratch_bytes=spec.scratch_bytes,
            max_output_bytes=spec.max_output_bytes,
            memory_bytes=spec.memory_limit_bytes if device == "cpu" else None,
            # torch.compile's worker pool and CUDA's threads count as processes
            processes=512 if device == "cpu" else 4096,
        )

    # 1. train ------------------------------------------------------------------------------
    say(
        f"training {submission} on {spec.name}: {spec.steps} steps × {spec.batch_size} × "
        f"{spec.block_size} bytes on {device} (sandbox: {result['sandbox']})"
    )
    feed = TrainingFeed(
        sampler=data.BatchSampler(train_split, spec.block_size, seed),
        micro=micro,
        accum=spec.batch_size // micro,
        steps=spec.steps,
        block=spec.block_size,
        wall_s=spec.train_wall_s,
    )
    with tempfile.TemporaryDirectory(prefix="crucible-run-") as tmp:
        checkpoint = Path(tmp) / "checkpoint.pt"
        sink = checkpoint.open("wb")
        written = chunks = 0
        trained_at: float | None = None  # the first checkpoint chunk: training is over
        curve: list[dict[str, Any]] = result["loss_curve"]
        max_chunks = spec.max_checkpoint_bytes // MIN_CHECKPOINT_CHUNK + 1

        def on_train_frame(kind: bytes, payload: bytes, record: dict[str, Any] | None) -> None:
            nonlocal written, chunks, trained_at
            if kind == b"R":
                feed.request()
            elif kind == b"C":
                trained_at = trained_at or time.monotonic()
                written += len(payload)
                chunks += 1
                if written > spec.max_checkpoint_bytes or chunks > max_chunks:
                    raise RunFailedError(
                        "failed",
                        f"the checkpoint exceeds {spec.max_checkpoint_bytes >> 20} MiB "
                        f"(or came in more than {max_chunks:,} pieces)",
                    )
                sink.write(payload)
            elif record is not None and record.get("type") == "progress":
                entry = _curve_point(record, feed, spec)
                curve.append(entry)
                say(
                    f"step {entry['step']:>6} | bytes {entry['bytes']:>12,} | "
                    f"loss {entry['loss']:.4f} | lr {entry['lr']:.2e} | "
                    f"{entry['bytes'] / max(entry['elapsed'], 1e-9):,.0f} B/s"
                )

        try:
            trained = _run_pass(
                sandbox,
                mode="train",
                files=files,
                job=job,
                limits=limits(spec.train_wall_s + spec.startup_grace_s),
                feed=feed,
                on_frame=on_train_frame,
                threads=threads,
                on_end=feed.close,
                served_steps=lambda: feed.steps_served,
            )
        finally:
            sink.close()
        result["log_tail"] = trained.outcome.log_tail()
        summary = next((r for r in trained.records if r.get("type") == "summary"), None)
        if trained.error or trained.outcome.killed_reason or summary is None:
            raise RunFailedError("failed", _explain("training", trained))
        # The harness's own figures: what it served, and when.
        result["steps"] = feed.steps_served
        result["bytes_trained"] = feed.bytes_served
        result["stopped_early"] = feed.steps_served < spec.steps
        end = trained_at or time.monotonic()
        result["train_seconds"] = round(feed.elapsed(end), 3)
        result["bytes_per_second"] = _rate(feed, end)
        result["reported"] = _reported(summary, curve)
        numbers, non_embedding = checkpoint_numbers(checkpoint)
        result["param_count"] = numbers
        if numbers > spec.max_params:
            raise RunFailedError(
                "failed",
                f"the trained checkpoint holds {numbers:,} parameters; this benchmark allows "
                f"{spec.max_params:,}",
            )
        if result["stopped_early"]:
            say(
                f"NOTE: training hit the wall-clock cap of {spec.train_wall_s:.0f} s after "
                f"{feed.steps_served} of {spec.steps} steps; scoring the model as it is"
            )
        dims = result["reported"].get("architecture") or {}
        if device == "cuda" and all(k in dims for k in ("n_layer", "n_head", "head_dim")):
            per_byte = metrics.flops_per_byte(
                non_embedding_params=non_embedding,
                n_layer=dims["n_layer"],
                n_head=dims["n_head"],
                head_dim=dims["head_dim"],
                block_size=spec.block_size,
            )
            result["mfu"] = metrics.mfu(
                bytes_per_second=result["bytes_per_second"] or 0.0,
                flops_per_byte_value=per_byte,
                device_name=result["device_name"],
            )

        # 2. score and 3. probe: two passes laid out alike, in secret -----------------------
        rng = secrets.SystemRandom()
        eval_limits = limits(spec.eval_wall_s)
        passes: list[tuple[list[Row], torch.Tensor]] = []
        for name in ("scoring", "causality probe"):
            rows = _pass_layout(
                windows,
                block=spec.block_size,
                batch=spec.eval_batch_size,
                decoy_source=train_split,
                rng=rng,
            )
            say(
                f"{name}: {len(rows)} rows ({len(windows)} scored windows, "
                f"{sum(r.cut is not None for r in rows)} spliced, "
                f"{sum(r.window < 0 for r in rows)} decoys)"
            )
            values = _logits_pass(
                sandbox,
                name=name,
                files=files,
                job=job,
                limits=eval_limits,
                rows=rows,
                windows=windows,
                threads=threads,
                checkpoint=checkpoint,
            )
            passes.append((rows, values))
        scored_rows, scored_values = passes[0]
        log_probs = torch.empty((len(windows), spec.block_size), dtype=torch.float64)
        for index, row in enumerate(scored_rows):
            if row.window >= 0 and row.cut is None:
                log_probs[row.window] = scored_values[index]
        val_bpb = metrics.bits_per_byte(float(log_probs.sum()), spec.scored_bytes)
        consistency = _consistency(passes[0], passes[1], len(windows))
        atol = spec.causality_atol_cuda if device == "cuda" else spec.causality_atol_cpu
        checked, worst = consistency.checked, consistency.worst
        result["causality"] = {
            "rows_per_pass": len(scored_rows),
            "cut_positions": spec.block_size - 1,
            "spliced_rows": sum(r.cut is not None for rows, _ in passes for r in rows),
            "decoy_rows": sum(r.window < 0 for rows, _ in passes for r in rows),
            "checked_positions": checked,
            "max_abs_diff_nats": worst,
            "tolerance_nats": atol,
        }
        mismatch = consistency.failure(atol)
        if mismatch is not None:
            raise RunFailedError("rejected", _causality_error(mismatch, atol))
    result["val_bits_per_byte"] = val_bpb
    say(f"val_bits_per_byte {val_bpb:.4f} ({spec.scored_bytes:,} bytes)")


def _curve_point(record: dict[str, Any], feed: TrainingFeed, spec: BenchmarkSpec) -> dict[str, Any]:
    """A loss-curve point: step, bytes and time are the harness's own at the record's arrival
    (the worker reports after a step and before asking for the next); loss and learning rate
    are the submission's report, and must be finite numbers."""
    reported = {}
    for key in ("loss", "lr"):
        value = record.get(key)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise RunFailedError(
                "failed", f"the worker sent a progress record whose {key} is not a number"
            )
        reported[key] = float(value)
    return {
        "step": max(0, feed.steps_served - 1),
        "bytes": feed.bytes_served,
        "loss": reported["loss"],
        "lr": reported["lr"],
        "elapsed": round(feed.elapsed(), 4),
    }


def _rate(feed: TrainingFeed, end: float) -> float | None:
    """Training bytes/s after the first step (which carries compilation and warm-up)."""
    if feed.second_step_at is not None and end > feed.second_step_at:
        after_first = (feed.steps_served - 1) * feed.accum * feed.micro * feed.block
        return after_first / (end - feed.second_step_at)
    seconds = feed.elapsed(end)
    return feed.bytes_served / seconds if seconds > 0 else None


_REPORTED_TYPES: dict[str, type] = {
    "steps": int,
    "peak_memory_bytes": int,
    "device_name": str,
    "n_layer": int,
    "n_head": int,
    "head_dim": int,
}


def _reported(summary: dict[str, Any], curve: list[dict[str, Any]]) -> dict[str, Any]:
    """What the submission's process said about itself, kept apart from the harness's figures."""
    clean = {
        key: summary[key]
        for key, kind in _REPORTED_TYPES.items()
        if isinstance(summary.get(key), kind) and not isinstance(summary.get(key), bool)
    }
    architecture = {k: clean.pop(k) for k in ("n_layer", "n_head", "head_dim") if k in clean}
    reported: dict[str, Any] = {
        "note": "reported by the submission's own process; not checked by the harness",
        **clean,
    }
    if architecture:
        reported["architecture"] = architecture
    if curve:
        reported["final_train_loss"] = curve[-1]["loss"]
    return reported
