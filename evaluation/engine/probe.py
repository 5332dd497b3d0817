"""The causality probe: the two logits passes, laid out in secret, and their comparison.

Why it holds against a model that tries to pass it:

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

import math
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from . import metrics
from .layout import Row, pass_layout
from .passes import (
    VOCAB_SIZE,
    Lockstep,
    PassContext,
    RunFailedError,
    explain,
    explain_withheld,
    run_pass,
)
from .specs import BenchmarkSpec


def _row_input(row: Row, windows: list[bytes], block: int) -> bytes:
    if row.window < 0:
        return row.decoy[:block]
    if row.cut is None:
        return windows[row.window][:block]
    return windows[row.window][: row.cut + 1] + windows[row.donor][row.cut + 1 : block]


def _row_target(row: Row, windows: list[bytes]) -> bytes:
    return row.decoy[1:] if row.window < 0 else windows[row.window][1:]


def logits_pass(
    ctx: PassContext,
    *,
    name: str,
    rows: list[Row],
    windows: list[bytes],
    wall_s: float,
    checkpoint: Path,
    withhold: bool = False,
) -> torch.Tensor:
    """Log-probabilities ``[len(rows), T]`` (float64) of each row's true next bytes (its own
    window's, for a spliced row), from logits the model returns for the rows' inputs."""
    block = ctx.job["block_size"]
    batch = ctx.job["eval_batch_size"]
    count = len(rows)
    out = torch.empty((count, block), dtype=torch.float64)
    filled = 0

    def chunks() -> Iterator[bytes]:
        for start in range(0, count, batch):
            yield b"".join(_row_input(row, windows, block) for row in rows[start : start + batch])

    feed = Lockstep(chunks())

    def on_frame(_rank: int, kind: bytes, payload: bytes, _record: dict[str, Any] | None) -> None:
        nonlocal filled
        if kind != b"L":
            return
        feed.answered()
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

    result = run_pass(
        ctx,
        mode="logits",
        wall_s=wall_s,
        feed=feed,
        on_frame=on_frame,
        checkpoint=checkpoint,
        on_end=feed.close,
    )
    if result.error or result.outcome.killed_reason or result.outcome.returncode != 0:
        if withhold:
            raise explain_withheld(name, result)
        raise RunFailedError("failed", explain(name, result))
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


def compare_passes(
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


def causality_error(mismatch: Mismatch, atol: float) -> str:
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


def score_and_probe(
    ctx: PassContext,
    *,
    spec: BenchmarkSpec,
    windows: list[bytes],
    decoy_source: bytes,
    checkpoint: Path,
    atol: float,
    say: Callable[[str], None],
    timings: dict[str, float],
) -> tuple[tuple[float, float | None], dict[str, Any]]:
    """The scoring pass and the probe, laid out alike in secret; returns the bits per byte of
    the scored windows (from the scoring pass): of the first ``spec.eval_windows`` (validation)
    and of the rest (a hidden test split, when there are more), and the probe's figures, or
    raises ``rejected``.
    Each pass's wall time, the harness's own work on its logits included, goes to ``timings``."""
    rng = secrets.SystemRandom()
    passes: list[tuple[list[Row], torch.Tensor]] = []
    for key, name in (("score", "scoring"), ("probe", "causality probe")):
        started = time.perf_counter()
        rows = pass_layout(
            windows,
            block=spec.block_size,
            batch=spec.eval_batch_size,
            decoy_source=decoy_source,
            rng=rng,
        )
        say(
            f"{name}: {len(rows)} rows ({len(windows)} scored windows, "
            f"{sum(r.cut is not None for r in rows)} spliced, "
            f"{sum(r.window < 0 for r in rows)} decoys)"
        )
        values = logits_pass(
            ctx,
            name=name,
            rows=rows,
            windows=windows,
            wall_s=spec.eval_wall_s,
            checkpoint=checkpoint,
            withhold=spec.private_text,
        )
        passes.append((rows, values))
        timings[key] = round(time.perf_counter() - started, 3)
    scored_rows, scored_values = passes[0]
    log_probs = torch.empty((len(windows), spec.block_size), dtype=torch.float64)
    for index, row in enumerate(scored_rows):
        if row.window >= 0 and row.cut is None:
            log_probs[row.window] = scored_values[index]
    split = spec.eval_windows
    val_bpb = metrics.bits_per_byte(float(log_probs[:split].sum()), split * spec.block_size)
    test_bpb = None
    if len(windows) > split:
        rest = len(windows) - split
        test_bpb = metrics.bits_per_byte(float(log_probs[split:].sum()), rest * spec.block_size)
    found = compare_passes(passes[0], passes[1], len(windows))
    figures = {
        "rows_per_pass": len(scored_rows),
        "cut_positions": spec.block_size - 1,
        "spliced_rows": sum(r.cut is not None for rows, _ in passes for r in rows),
        "decoy_rows": sum(r.window < 0 for rows, _ in passes for r in rows),
        "checked_positions": found.checked,
        "max_abs_diff_nats": found.worst,
        "tolerance_nats": atol,
    }
    mismatch = found.failure(atol)
    if mismatch is not None:
        raise RunFailedError("rejected", causality_error(mismatch, atol))
    return (val_bpb, test_bpb), figures
