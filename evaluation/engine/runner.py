"""Train a submission under a benchmark's budget and score it: the harness side.

One evaluation is three sandboxed processes, each fresh, none of which computes the score:

1. **train**: the harness serves training batches over a pipe (the trainer never opens a corpus
   file, and stops getting data at the budget), receives the progress records and the
   checkpoint bytes (capped) back.
2. **score**: a fresh process builds the model, loads the checkpoint and returns the logits for
   the validation windows (inputs only; the targets stay here). This process computes
   log-softmax in float64 and the bits per byte.
3. **causality probe**: see :func:`_causality_windows`.

Causality check, and why it holds against a model that tries to pass it:

- The checked windows and cut points are drawn with ``secrets`` *after* the scoring pass, so
  nothing in the checkpoint or the scoring process can know them.
- The probe is a second run of exactly the same worker invocation (same command line,
  environment, batch shape, number of batches) in a fresh process loaded from the same
  checkpoint: a model that "behaves when the input looks like a probe" sees nothing that tells
  the probe apart, and a model that "remembers earlier calls" starts from nothing either (the
  scoring process's scratch directory is gone and the job folder is read-only).
- The probe holds every scoring window, in a new secret order (both passes are shuffled), and
  in ``causality_windows`` of them every byte after a cut position ``c`` is replaced by the bytes
  at the same offsets of another validation window that has the same byte at ``c`` (so the
  splice continues from the same character and reads like text). For each such window the
  log-probabilities of the true bytes at positions ``0..c`` must equal those from the scoring
  pass; for the untouched windows all positions must. A model whose prediction at ``t`` reads
  any byte after ``t`` (look-ahead, by any distance up to the window, or reads other rows of
  the batch, or is not deterministic) moves those numbers and is rejected.
- The tolerance (``causality_atol_*``, nats) only absorbs float noise; a model could cheat by
  less than that, which is worth at most that many nats on the checked positions.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import shutil
import struct
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
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
MAX_JSON_FRAME = 1 << 20

Progress = Callable[[str], None]


class RunFailedError(Exception):
    """Ends an evaluation; ``status`` is 'failed' or 'rejected'."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


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
            if kind not in (b"J", b"C", b"L") or length > max_frame:
                raise RunFailedError(
                    "failed", f"the worker sent a malformed frame ({kind!r}, {length} bytes)"
                )
            payload = stream.read(length)
            if len(payload) < length:
                return
            yield kind, payload


def _run_pass(
    sandbox: Sandbox,
    *,
    mode: str,
    files: dict[str, bytes],
    job: dict[str, Any],
    limits: Limits,
    feed: Iterable[bytes],
    on_frame: Callable[[bytes, bytes], None],
    threads: int,
    checkpoint: Path | None = None,
) -> PassResult:
    """Run one worker process in the sandbox, feeding ``feed`` and handing frames over."""
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
                for chunk in feed:
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(data_w, view) :]
            except OSError:  # the worker exited or closed its end
                pass
            finally:
                os.close(data_w)

        feeding = threading.Thread(target=feeder, daemon=True)
        feeding.start()
        records: list[dict[str, Any]] = []
        error: str | None = None
        try:
            max_frame = max(
                MAX_JSON_FRAME, job["eval_batch_size"] * job["block_size"] * VOCAB_SIZE * 4
            )
            for kind, payload in _frames(msg_r, max_frame):
                if kind == b"J":
                    if len(payload) > MAX_JSON_FRAME:
                        raise RunFailedError("failed", "the worker sent an oversized record")
                    record = json.loads(payload)
                    if not isinstance(record, dict):
                        continue
                    if record.get("type") == "error":
                        error = str(record.get("message", ""))[:4000]
                    records.append(record)
                on_frame(kind, payload)
        except RunFailedError:
            process.kill("sent malformed or oversized data")
            raise
        except (ValueError, UnicodeDecodeError):
            process.kill("sent malformed data")
            error = error or "the worker sent malformed data on its result pipe"
        finally:
            outcome = process.wait()
            feeding.join(timeout=10)
        return PassResult(outcome=outcome, records=records, error=error)


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


# -- scoring --------------------------------------------------------------------------------


def _logits_pass(
    sandbox: Sandbox,
    *,
    name: str,
    files: dict[str, bytes],
    job: dict[str, Any],
    limits: Limits,
    inputs: list[bytes],
    targets: list[bytes],
    threads: int,
    checkpoint: Path,
) -> torch.Tensor:
    """Target log-probabilities ``[len(inputs), T]`` (float64), from logits the model returns."""
    block = job["block_size"]
    batch = job["eval_batch_size"]
    count = len(inputs)
    out = torch.empty((count, block), dtype=torch.float64)
    filled = 0

    def feed() -> Iterator[bytes]:
        for start in range(0, count, batch):
            yield b"".join(inputs[start : start + batch])

    def on_frame(kind: bytes, payload: bytes) -> None:
        nonlocal filled
        if kind != b"L":
            return
        rows = min(batch, count - filled)
        if rows <= 0 or len(payload) != rows * block * VOCAB_SIZE * 4:
            raise RunFailedError("failed", f"{name}: the model returned logits of the wrong size")
        logits = torch.frombuffer(bytearray(payload), dtype=torch.float32)
        logits = logits.view(rows, block, VOCAB_SIZE)
        if not torch.isfinite(logits).all():
            raise RunFailedError(
                "failed", f"{name}: the model produced NaN or infinite logits on validation data"
            )
        target = torch.frombuffer(
            bytearray(b"".join(targets[filled : filled + rows])), dtype=torch.uint8
        )
        target = target.view(rows, block).long()
        out[filled : filled + rows] = metrics.target_log_probs(logits, target)
        filled += rows

    result = _run_pass(
        sandbox,
        mode="logits",
        files=files,
        job=job,
        limits=limits,
        feed=feed(),
        on_frame=on_frame,
        threads=threads,
        checkpoint=checkpoint,
    )
    if result.error or result.outcome.killed_reason or result.outcome.returncode != 0:
        raise RunFailedError("failed", _explain(name, result))
    if filled != count:
        raise RunFailedError(
            "failed", f"{name}: the model returned logits for {filled}/{count} windows"
        )
    return out


def _causality_windows(
    windows: list[bytes], block: int, count: int, rng: secrets.SystemRandom
) -> dict[int, tuple[int, int]]:
    """Secretly chosen windows -> (cut position c, donor window), donor has the same byte at c."""
    chosen = rng.sample(range(len(windows)), min(count, len(windows)))
    plan: dict[int, tuple[int, int]] = {}
    for index in chosen:
        cut = rng.randrange(0, block - 1)
        donors = [
            j
            for j in range(len(windows))
            if j != index
            and windows[j][cut] == windows[index][cut]
            and windows[j][cut + 1] != windows[index][cut + 1]
        ]
        if not donors:
            donors = [j for j in range(len(windows)) if j != index]
        plan[index] = (cut, rng.choice(donors))
    return plan


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

    Returns the JSON-able result (see ``__init__``'s docstring for the fields).
    """
    started = time.perf_counter()
    result: dict[str, Any] = {
        "benchmark": spec.name,
        "seed": seed,
        "status": "failed",
        "error": None,
        "val_bits_per_byte": None,
        "loss_curve": [],
        "bytes_per_second": None,
        "mfu": None,
        "peak_memory_bytes": None,
        "param_count": None,
        "device": None,
        "device_name": None,
        "torch_version": torch.__version__,
        "bytes_trained": 0,
        "byte_budget": spec.steps * spec.batch_size * spec.block_size,
        "steps": 0,
        "stopped_early": False,
        "scored_bytes": spec.scored_bytes,
        "causality": None,
        "sandbox": None,
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
    except SandboxUnavailableError as exc:
        result["status"] = "failed"
        result["error"] = str(exc)
    except data.CorpusError as exc:
        result["status"] = "failed"
        result["error"] = f"platform error: {exc}"
    except Exception as exc:  # noqa: BLE001 - a harness bug must still produce a result
        result["status"] = "failed"
        result["error"] = (
            "engine error (not the submission's fault; please report): "
            + "".join(traceback.format_exception(exc, limit=-3))[-2000:]
        )
    result["wall_seconds"] = round(time.perf_counter() - started, 3)
    if result["status"] != "ok":
        say(f"{result['status'].upper()}: {result['error']}")
    return result


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
    threads = threads_arg or torch.get_num_threads()
    sandbox = Sandbox(unsafe_no_sandbox=unsafe_no_sandbox, gpu=device == "cuda")
    result["sandbox"] = "bubblewrap" if sandbox.mode == "bwrap" else "NONE (unsafe)"
    train_split, val_split = data.corpus_split(spec.corpus)
    windows = data.eval_windows(val_split, spec.block_size, spec.eval_windows)

    micro = config["micro_batch_size"] or spec.batch_size
    job = {
        "block_size": spec.block_size,
        "batch_size": spec.batch_size,
        "micro_batch_size": micro,
        "steps": spec.steps,
        "train_wall_s": spec.train_wall_s,
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
    sampler = data.BatchSampler(train_split, spec.block_size, seed)
    micro_batches = spec.steps * (spec.batch_size // micro)
    served = 0  # sequences handed to the trainer

    def train_feed() -> Iterator[bytes]:
        nonlocal served
        for _ in range(micro_batches):
            yield sampler.next_batch(micro)
            served += micro

    with tempfile.TemporaryDirectory(prefix="crucible-run-") as tmp:
        checkpoint = Path(tmp) / "checkpoint.pt"
        sink = checkpoint.open("wb")
        written = 0
        curve: list[dict[str, Any]] = result["loss_curve"]

        def on_train_frame(kind: bytes, payload: bytes) -> None:
            nonlocal written
            if kind == b"C":
                written += len(payload)
                if written > spec.max_checkpoint_bytes:
                    raise RunFailedError(
                        "failed",
                        f"the checkpoint exceeds {spec.max_checkpoint_bytes >> 20} MiB",
                    )
                sink.write(payload)
            elif kind == b"J":
                entry = _progress_entry(json.loads(payload))
                if entry is not None:
                    curve.append(entry)
                    rate = entry["bytes"] / entry["elapsed"] if entry["elapsed"] else 0.0
                    say(
                        f"step {entry['step']:>6} | bytes {entry['bytes']:>12,} | "
                        f"loss {entry['loss']:.4f} | lr {entry['lr']:.2e} | {rate:,.0f} B/s"
                    )

        try:
            trained = _run_pass(
                sandbox,
                mode="train",
                files=files,
                job=job,
                limits=limits(spec.train_wall_s + spec.startup_grace_s),
                feed=train_feed(),
                on_frame=on_train_frame,
                threads=threads,
            )
        finally:
            sink.close()
        result["log_tail"] = trained.outcome.log_tail()
        summary = next((r for r in trained.records if r.get("type") == "summary"), None)
        if trained.error or trained.outcome.killed_reason or summary is None:
            raise RunFailedError("failed", _explain("training", trained))
        summary = _clean_summary(summary)
        for key in ("param_count", "peak_memory_bytes", "device_name", "torch_version"):
            result[key] = summary.get(key)
        result["steps"] = summary.get("steps")
        # What the trainer says it consumed, never more than the harness served.
        result["bytes_trained"] = min(int(summary.get("bytes", 0)), served * spec.block_size)
        result["stopped_early"] = bool(summary.get("stopped_early"))
        if result["stopped_early"]:
            say(
                f"NOTE: training hit the wall-clock cap of {spec.train_wall_s:.0f} s after "
                f"{result['steps']} of {spec.steps} steps; scoring the model as it is"
            )
        result["bytes_per_second"] = _steady_rate(curve, summary)
        if device == "cuda" and all(k in summary for k in ("n_layer", "n_head", "head_dim")):
            per_byte = metrics.flops_per_byte(
                non_embedding_params=summary["non_embedding_params"],
                n_layer=summary["n_layer"],
                n_head=summary["n_head"],
                head_dim=summary["head_dim"],
                block_size=spec.block_size,
            )
            result["mfu"] = metrics.mfu(
                bytes_per_second=result["bytes_per_second"] or 0.0,
                flops_per_byte_value=per_byte,
                device_name=str(summary.get("device_name", "")),
            )

        # 2. score ---------------------------------------------------------------------------
        rng = secrets.SystemRandom()
        eval_limits = limits(spec.eval_wall_s)
        order = list(range(len(windows)))
        rng.shuffle(order)
        say(f"scoring {spec.scored_bytes:,} validation bytes")
        scored = _logits_pass(
            sandbox,
            name="scoring",
            files=files,
            job=job,
            limits=eval_limits,
            inputs=[windows[i][:-1] for i in order],
            targets=[windows[i][1:] for i in order],
            threads=threads,
            checkpoint=checkpoint,
        )
        log_probs = torch.empty_like(scored)
        log_probs[torch.tensor(order)] = scored
        val_bpb = metrics.bits_per_byte(float(log_probs.sum()), spec.scored_bytes)

        # 3. causality probe: windows and cuts drawn only now ---------------------------------
        plan = _causality_windows(windows, spec.block_size, spec.causality_windows, rng)
        probe_order = list(range(len(windows)))
        rng.shuffle(probe_order)
        probe_inputs = []
        for i in probe_order:
            if i in plan:
                cut, donor = plan[i]
                probe_inputs.append(windows[i][: cut + 1] + windows[donor][cut + 1 : -1])
            else:
                probe_inputs.append(windows[i][:-1])
        say(f"causality probe: {len(plan)} spliced windows among {len(windows)}")
        probed = _logits_pass(
            sandbox,
            name="causality probe",
            files=files,
            job=job,
            limits=eval_limits,
            inputs=probe_inputs,
            targets=[windows[i][1:] for i in probe_order],
            threads=threads,
            checkpoint=checkpoint,
        )
        probe_log_probs = torch.empty_like(probed)
        probe_log_probs[torch.tensor(probe_order)] = probed
        mask = torch.ones_like(log_probs, dtype=torch.bool)
        for i, (cut, _donor) in plan.items():
            mask[i, cut + 1 :] = False
        diff = (probe_log_probs - log_probs).abs().masked_fill(~mask, 0.0)
        atol = spec.causality_atol_cuda if device == "cuda" else spec.causality_atol_cpu
        worst = float(diff.max())
        result["causality"] = {
            "spliced_windows": len(plan),
            "checked_positions": int(mask.sum()),
            "max_abs_diff_nats": worst,
            "tolerance_nats": atol,
        }
        if not math.isfinite(worst) or worst > atol:
            flat = int(diff.argmax())
            window, position = divmod(flat, spec.block_size)
            where = (
                f"window {window}, position {position}, only bytes after position "
                f"{plan[window][0]} changed"
                if window in plan
                else f"window {window}, position {position}, nothing in that window changed"
            )
            raise RunFailedError(
                "rejected",
                "causality check failed: the prediction at "
                f"{where}, yet its log-probability moved by {worst:.4g} nats "
                f"(tolerance {atol:g}). The model must predict byte t+1 from bytes 0..t of its "
                "own sequence only: no look-ahead, no mixing across the batch, no state "
                "between calls, deterministic in eval mode.",
            )
    result["val_bits_per_byte"] = val_bpb
    say(f"val_bits_per_byte {val_bpb:.4f} ({spec.scored_bytes:,} bytes)")


def _progress_entry(record: Any) -> dict[str, Any] | None:
    """A loss-curve point from an (untrusted) progress record, or None if it is not one."""
    if not isinstance(record, dict) or record.get("type") != "progress":
        return None
    try:
        entry = {
            "step": int(record["step"]),
            "bytes": int(record["bytes"]),
            "loss": float(record["loss"]),
            "lr": float(record["lr"]),
            "elapsed": float(record["elapsed"]),
        }
    except (KeyError, TypeError, ValueError):
        return None
    return entry


_SUMMARY_TYPES: dict[str, type] = {
    "steps": int,
    "bytes": int,
    "train_seconds": float,
    "stopped_early": bool,
    "param_count": int,
    "non_embedding_params": int,
    "n_layer": int,
    "n_head": int,
    "head_dim": int,
    "peak_memory_bytes": int,
    "device_name": str,
    "torch_version": str,
}


def _clean_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """Only the expected keys, with the expected types (the trainer is untrusted)."""
    clean: dict[str, Any] = {}
    for key, kind in _SUMMARY_TYPES.items():
        value = summary.get(key)
        if value is None:
            continue
        try:
            clean[key] = kind(value) if kind is not str else str(value)[:200]
        except (TypeError, ValueError):
            continue
    return clean


def _steady_rate(curve: list[dict[str, Any]], summary: dict[str, Any]) -> float | None:
    """Training bytes/s after the first step (which carries compilation and warm-up)."""
    if len(curve) >= 2 and curve[-1]["elapsed"] > curve[0]["elapsed"]:
        return (curve[-1]["bytes"] - curve[0]["bytes"]) / (
            curve[-1]["elapsed"] - curve[0]["elapsed"]
        )
    seconds = summary.get("train_seconds") or 0
    return summary.get("bytes", 0) / seconds if seconds else None
