"""The training pass: data served on request, the harness's own books, the checkpoint.

The worker asks for each training micro-batch and the harness serves it (:class:`TrainingFeed`),
counting the bytes and whole steps and keeping the clock itself: at the byte budget, or when a
step would start after ``train_wall_s``, it stops serving (end of file). The checkpoint comes back
in capped chunks and its size in parameters is read from the file by the harness. The result's
``steps``, ``bytes_trained``, ``train_seconds``, ``bytes_per_second``, ``param_count`` and the loss
curve's step, bytes and time are the harness's figures; the loss, learning rate, memory and
architecture the worker sends are kept under ``reported``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import data
from .checkpoint import checkpoint_load, checkpoint_numbers, checkpoint_save_clean
from .passes import (
    MIN_CHECKPOINT_CHUNK,
    PassContext,
    RunFailedError,
    explain,
    run_pass,
    write_all,
)
from .specs import BenchmarkSpec
from .supervise import SandboxProcess


@dataclass
class TrainingFeed:
    """Serves training micro-batches one request at a time and keeps the books: the bytes and
    whole steps served and the clock are the harness's own, and so is the training deadline.

    The clock starts at the first request (imports, the model's build and anything done before
    come out of the startup grace); from then on serving stops at the budget or when a step
    would start after ``wall_s``, and the worker sees the end of its data. The first frame of
    the checkpoint ends serving too, so a worker cannot send one early and keep training on new
    data. Training ends, by this clock, at the summary record that follows the checkpoint.

    With several ranks (``torchrun``), a micro-batch is drawn as for one process and its rows
    are dealt out, ``micro / ranks`` to each, once every rank has asked for it: the gradient
    the ranks average is the one process's, and every rank sees the end of its data at the
    same step."""

    sampler: data.BatchSampler
    micro: int  # sequences per micro-batch, over all ranks
    accum: int
    steps: int
    block: int
    wall_s: float
    ranks: int = 1
    served: int = 0  # micro-batches
    first_at: float | None = None
    second_step_at: float | None = None
    ended_at: float | None = None  # training over: the summary record, or the exit
    serving: bool = True
    served_all_at: float | None = None  # when serving ended (budget, clock or close)
    _asked: list[int] = field(default_factory=list)  # requests per rank
    _turn: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        self._asked = [0] * self.ranks

    @property
    def steps_served(self) -> int:
        return self.served // self.accum

    @property
    def bytes_served(self) -> int:
        return self.steps_served * self.accum * self.micro * self.block

    def request(self, rank: int = 0) -> None:
        """A request frame arrived from ``rank`` (called from the thread reading its frames)."""
        with self._turn:
            self._asked[rank] += 1
            if self._asked[rank] > self.steps * self.accum + 1:
                raise RunFailedError(
                    "failed", "the worker kept asking for training data after the harness stopped"
                )
            self._turn.notify_all()

    def deadline(self, *, grace_s: float) -> float | None:
        """When the checkpoint must be in: ``grace_s`` after the training cap, or after the
        last data served if that came first (whatever the worker holds back or fetched ahead,
        it trains at most ``grace_s`` past either)."""
        if self.first_at is None:
            return None
        deadline = self.first_at + self.wall_s + grace_s
        if self.served_all_at is not None:
            deadline = min(deadline, self.served_all_at + grace_s)
        return deadline

    def close(self, *, ended: bool = False) -> None:
        """Stop serving (the checkpoint is coming, or the process is gone); ``ended``: training
        is over by the harness's clock (the summary arrived, or the process is gone)."""
        if ended and self.ended_at is None:
            self.ended_at = time.monotonic()
        with self._turn:
            self.serving = False
            self._turn.notify_all()

    def _wait_for_every_rank(self) -> bool:
        with self._turn:
            self._turn.wait_for(lambda: not self.serving or min(self._asked) > self.served)
            return self.serving

    def __call__(self, fds: list[int]) -> None:
        share = self.micro // self.ranks * (self.block + 1)
        try:
            while self.served < self.steps * self.accum and self._wait_for_every_rank():
                now = time.monotonic()
                if self.first_at is None:
                    self.first_at = now
                if self.served % self.accum == 0 and self.served:
                    if now - self.first_at > self.wall_s:
                        return
                    if self.served == self.accum:
                        self.second_step_at = now
                batch = self.sampler.next_batch(self.micro)
                # Served once handed over: a worker that copies its last share out of the pipe
                # without consuming it (tee) holds the data all the same.
                self.served += 1
                if self.served == self.steps * self.accum:
                    self.served_all_at = now
                for rank, fd in enumerate(fds):
                    write_all(fd, batch[rank * share : (rank + 1) * share])
        except OSError:
            pass
        finally:
            if self.served_all_at is None:
                self.served_all_at = time.monotonic()

    def elapsed(self, now: float | None = None) -> float:
        if self.first_at is None:
            return 0.0
        return (now or time.monotonic()) - self.first_at


def train(
    ctx: PassContext,
    *,
    spec: BenchmarkSpec,
    feed: TrainingFeed,
    checkpoint: Path,
    result: dict[str, Any],
    say: Callable[[str], None],
) -> int:
    """Run the training pass, writing the checkpoint to ``checkpoint`` and the harness's figures
    into ``result``. Returns the checkpoint's parameters outside the byte embeddings.

    Deadlines, all kept here: serving stops at ``train_wall_s`` (see :class:`TrainingFeed`);
    the checkpoint and its summary must arrive within ``finish_grace_s`` of the cap, or of the
    last data served if that came first (one last step and the save), or the pass is killed:
    data held back or fetched ahead buys at most ``finish_grace_s``; the whole pass is killed
    at ``train_wall_s + startup_grace_s`` after it started."""
    written = chunks = 0
    summarised = threading.Event()

    def guard(process: SandboxProcess) -> None:
        def watch() -> None:
            while not summarised.wait(0.1):
                deadline = feed.deadline(grace_s=spec.finish_grace_s)
                if deadline is not None and time.monotonic() > deadline:
                    process.kill(
                        f"did not send its checkpoint within {spec.finish_grace_s:.0f} s of its "
                        f"last training data or of the {spec.train_wall_s:.0f} s training cap"
                    )
                    return

        threading.Thread(target=watch, daemon=True).start()

    def ended() -> None:
        feed.close(ended=True)
        summarised.set()

    curve: list[dict[str, Any]] = result["loss_curve"]
    max_chunks = spec.max_checkpoint_bytes // MIN_CHECKPOINT_CHUNK + 1

    with checkpoint.open("wb") as sink:

        def on_frame(rank: int, kind: bytes, payload: bytes, record: dict[str, Any] | None) -> None:
            nonlocal written, chunks
            if rank:  # the other ranks ask for data and may report an error; nothing else counts
                if kind == b"R":
                    feed.request(rank)
                elif kind != b"J":
                    raise RunFailedError(
                        "failed",
                        f"rank {rank} sent a {kind.decode()!r} frame: only the first process "
                        "sends progress and the checkpoint",
                    )
                return
            if summarised.is_set():
                raise RunFailedError("failed", "the worker sent more after its summary record")
            if record is not None and record.get("type") == "summary":
                feed.close(ended=True)
                summarised.set()
            elif kind == b"R":
                feed.request()
            elif kind == b"C":
                feed.close()
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
                entry = _curve_point(record, feed)
                curve.append(entry)
                say(
                    f"step {entry['step']:>6} | bytes {entry['bytes']:>12,} | "
                    f"loss {entry['loss']:.4f} | lr {entry['lr']:.2e} | "
                    f"{entry['bytes'] / max(entry['elapsed'], 1e-9):,.0f} B/s"
                )

        trained = run_pass(
            ctx,
            mode="train",
            wall_s=spec.train_wall_s + spec.startup_grace_s,
            feed=feed,
            on_frame=on_frame,
            on_start=guard,
            on_end=ended,
            served_steps=lambda: feed.steps_served,
            ranks=spec.gpus,
        )
    result["log_tail"] = trained.outcome.log_tail()
    result["pass_seconds"]["train"] = round(trained.outcome.wall_s, 3)
    result["peak_memory_bytes"] = trained.outcome.peak_memory_bytes
    summary = next((r for r in trained.records if r.get("type") == "summary"), None)
    if (
        trained.error
        or trained.outcome.killed_reason
        or summary is None
        or trained.outcome.returncode != 0  # under torchrun: a rank that failed after it
    ):
        raise RunFailedError("failed", explain("training", trained))
    result["steps"] = feed.steps_served
    result["bytes_trained"] = feed.bytes_served
    result["stopped_early"] = feed.steps_served < spec.steps
    end = feed.ended_at or time.monotonic()
    result["train_seconds"] = round(feed.elapsed(end), 3)
    result["bytes_per_second"] = _rate(feed, end)
    result["reported"] = _reported(summary, curve)
    state = checkpoint_load(checkpoint)
    numbers, non_embedding = checkpoint_numbers(state)
    result["param_count"] = numbers
    if numbers > spec.max_params:
        raise RunFailedError(
            "failed",
            f"the trained checkpoint holds {numbers:,} parameters; this benchmark allows "
            f"{spec.max_params:,}",
        )
    checkpoint_save_clean(state, checkpoint)
    del state
    if result["stopped_early"]:
        say(
            f"NOTE: training hit the wall-clock cap of {spec.train_wall_s:.0f} s after "
            f"{feed.steps_served} of {spec.steps} steps; scoring the model as it is"
        )
    return non_embedding


def _curve_point(record: dict[str, Any], feed: TrainingFeed) -> dict[str, Any]:
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
