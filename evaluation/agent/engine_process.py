"""Running the engine as a subprocess (`python -m evaluation.engine run …`), supervised from the
worker: progress lines become heartbeats, a cancel or a timeout kills the whole process group,
and the engine dies with the worker. Neither the worker nor the platform imports training code.
"""

import contextlib
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
PROGRESS_LINE = re.compile(r"bytes\s+([\d,]+)\s*\|\s*loss\s+([-\d.naif]+)", re.IGNORECASE)
LOG_TAIL_CHARS = 8000


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
    definition: dict[str, Any] | None = None,
    data_dir: Path | None = None,
    seed: int,
    byte_budget: int | None = None,
    on_progress: Callable[[int | None, float | None], bool] | None = None,
    heartbeat_seconds: float = 2.0,
    timeout: float,
) -> EngineResult:
    """Run `python -m evaluation.engine run` on a submission folder, in its own process group.

    `on_progress(bytes_done, loss)` is called every `heartbeat_seconds` (and on progress lines);
    returning False cancels the run, killing the whole group. Whether the folder's code is
    trusted is the engine's decision, by content (the reference model's sha256), never ours.
    An imported benchmark's ``definition`` names its files by sha256, found under ``data_dir``
    (the platform's data store, or a worker's cache of it).
    """
    out = Path(tempfile.mkdtemp(prefix="crucible-result-")) / "result.json"
    benchmark = spec
    if definition:
        assert data_dir is not None, "an imported benchmark's data needs a data_dir"
        # An imported benchmark: its definition and where the store keeps its files, for the
        # engine's harness alone (the sandboxed passes see neither).
        handed = out.parent / "benchmark.json"
        handed.write_text(json.dumps({"definition": definition, "data_dir": str(data_dir)}))
        benchmark = str(handed)
    command = [
        sys.executable,
        "-m",
        "evaluation.engine",
        "run",
        "--benchmark",
        benchmark,
        "--submission",
        str(folder),
        "--seed",
        str(seed),
        "--out",
        str(out),
    ]
    if byte_budget:
        command += ["--budget-bytes", str(byte_budget)]
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
