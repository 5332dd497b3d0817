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

The causality probe is described in ``probe.py``; one sandboxed pass and the harness protocol
in ``passes.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from . import data, metrics
from .passes import REFERENCE_DIR, PassContext, RunFailedError, json_safe
from .probe import score_and_probe
from .sandbox import Sandbox, SandboxUnavailableError
from .specs import (
    MAX_SUBMISSION_BYTES,
    MAX_SUBMISSION_FILES,
    BenchmarkSpec,
    config_errors,
    config_resolve,
)
from .supervise import Limits
from .training import TrainingFeed, train

Progress = Callable[[str], None]


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
    if not files:
        raise RunFailedError("rejected", "the submission folder is empty")
    if "config.json" not in files:  # optional: the spec's defaults
        return files, {}
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


# -- the evaluation -------------------------------------------------------------------------


def _resolve_device(spec: BenchmarkSpec, device: str | None) -> str:
    wanted = device or spec.device
    if wanted == "auto":  # CUDA where the machine has a GPU for each of the run's processes
        enough = torch.cuda.is_available() and torch.cuda.device_count() >= spec.gpus
        return "cuda" if enough else "cpu"
    if wanted == "cuda" and not torch.cuda.is_available():
        raise RunFailedError(
            "failed",
            f"benchmark {spec.name} runs on a CUDA GPU and none is available here "
            "(pass --device cpu to try it on the CPU, unofficially)",
            fault="platform",
        )
    if wanted == "cuda" and torch.cuda.device_count() < spec.gpus:
        raise RunFailedError(
            "failed",
            f"benchmark {spec.name} trains on {spec.gpus} GPUs and this machine has "
            f"{torch.cuda.device_count()}",
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
        "test_bits_per_byte": None,
        "loss_curve": [],
        "bytes_per_second": None,
        "mfu": None,
        "param_count": None,
        "peak_memory_bytes": None,
        "device": None,
        "device_name": None,
        "gpus": spec.gpus,
        "torch_version": torch.__version__,
        "bytes_trained": 0,
        "byte_budget": spec.steps * spec.batch_size * spec.block_size,
        "steps": 0,
        "train_seconds": None,
        "stopped_early": False,
        "scored_bytes": spec.scored_bytes,
        "causality": None,
        "pass_seconds": {},
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
        if exc.private:
            result["private_error"] = exc.private
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
    result = json_safe(result)
    if result["status"] != "ok":
        say(f"{result['status'].upper()}: {result['error']}")
    return result


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
    if device == "cpu":  # the machine's threads, shared by the run's processes
        threads = max(1, threads // spec.gpus)
    reference = is_reference_code(files)
    sandbox = Sandbox(
        unsafe_no_sandbox=unsafe_no_sandbox, reference_code=reference, gpu=device == "cuda"
    )
    result["sandbox"] = sandbox.describe()
    train_split, val_split, test_split = data.splits(spec)
    windows = data.eval_windows(val_split, spec.block_size, spec.eval_windows)
    if test_split is not None:
        # The hidden split's windows are scored in the same passes, after the validation
        # ones and indistinguishable from them (the probe covers them too).
        windows += data.eval_windows(test_split, spec.block_size, spec.eval_windows)

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
            pass_memory_bytes=spec.memory_limit_bytes,
        )

    ctx = PassContext(sandbox=sandbox, files=files, job=job, threads=threads, limits=limits)
    say(
        f"training {submission} on {spec.name}: {spec.steps} steps × {spec.batch_size} × "
        f"{spec.block_size} bytes on {device}"
        + (f" in {spec.gpus} processes (torchrun)" if spec.gpus > 1 else "")
        + f" (sandbox: {result['sandbox']})"
    )
    feed = TrainingFeed(
        sampler=data.BatchSampler(train_split, spec.block_size, seed),
        micro=micro,
        accum=spec.batch_size // micro,
        steps=spec.steps,
        block=spec.block_size,
        wall_s=spec.train_wall_s,
        ranks=spec.gpus,
    )
    with tempfile.TemporaryDirectory(prefix="crucible-run-") as tmp:
        checkpoint = Path(tmp) / "checkpoint.pt"
        non_embedding = train(
            ctx, spec=spec, feed=feed, checkpoint=checkpoint, result=result, say=say
        )
        result["mfu"] = _mfu(result, spec=spec, non_embedding=non_embedding)
        (val_bpb, test_bpb), result["causality"] = score_and_probe(
            ctx,
            spec=spec,
            windows=windows,
            decoy_source=train_split,
            checkpoint=checkpoint,
            atol=spec.causality_atol_cuda if device == "cuda" else spec.causality_atol_cpu,
            say=say,
            timings=result["pass_seconds"],
        )
    result["val_bits_per_byte"] = val_bpb
    result["test_bits_per_byte"] = test_bpb
    say(f"val_bits_per_byte {val_bpb:.4f} ({spec.scored_bytes:,} bytes)")
    if test_bpb is not None:  # the figure itself is for the platform, not the log
        say(f"hidden test split scored ({spec.scored_bytes:,} bytes)")


def _mfu(result: dict[str, Any], *, spec: BenchmarkSpec, non_embedding: int) -> float | None:
    """Model FLOPs utilisation on CUDA, per GPU: the harness's bytes/s and parameter count,
    with the layer and head dimensions the submission reports (the attention term needs them)."""
    dims = result["reported"].get("architecture") or {}
    if result["device"] != "cuda" or not all(k in dims for k in ("n_layer", "n_head", "head_dim")):
        return None
    per_byte = metrics.flops_per_byte(
        non_embedding_params=non_embedding,
        n_layer=dims["n_layer"],
        n_head=dims["n_head"],
        head_dim=dims["head_dim"],
        block_size=spec.block_size,
    )
    return metrics.mfu(
        bytes_per_second=(result["bytes_per_second"] or 0.0) / spec.gpus,
        flops_per_byte_value=per_byte,
        device_name=result["device_name"],
    )
