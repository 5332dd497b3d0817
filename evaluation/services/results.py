"""What a worker may report for one seed: the engine's result, checked before anything of it is
stored (`jobs.run_record`), and which of its keys stay private."""

import math
from typing import Any

from evaluation.engine.passes import json_safe
from evaluation.errors import JobRefusedError
from evaluation.models import EvaluationRun

RunStatus = EvaluationRun.Status

MAX_CURVE_POINTS = 10_000
CURVE_KEYS = {"step", "bytes", "loss", "lr", "elapsed"}
# Public figures the pages and the leaderboard compute with.
NUMERIC_FACTS = (
    "bytes_trained",
    "byte_budget",
    "bytes_per_second",
    "train_seconds",
    "param_count",
    "steps",
    "mfu",
    "peak_memory_bytes",
)
MAX_SCORE = 1e6  # bits per byte: 8 is a uniform guess; anything near this is a broken model
MAX_FACT = 1e18
MAX_ERROR_CHARS = 2000
RESULT_STATUSES = {"ok": RunStatus.OK, "rejected": RunStatus.REJECTED, "failed": RunStatus.FAILED}
# Kept out of a run's public `metrics`: big ones stored apart, and what may reveal the hidden
# split's score or quote private held-out text (README, "Benchmark folders").
PRIVATE_RESULT_KEYS = ("loss_curve", "log_tail", "test_bits_per_byte", "private_error")


def result_check(result: dict[str, Any]) -> dict[str, Any]:
    """The engine's result as a worker sends it, refused when it is not what an engine writes:
    a known status, finite scores, numbers where the pages and the ledger read numbers, text
    without NUL (PostgreSQL refuses it) and of bounded length."""
    if not isinstance(result, dict):
        raise JobRefusedError("the result is not an object")
    if result.get("status") not in (None, *RESULT_STATUSES):
        raise JobRefusedError(f"unknown result status {result.get('status')!r}")
    for key in ("val_bits_per_byte", "test_bits_per_byte"):
        value = result.get(key)
        if value is not None and not (_finite_number(value) and 0 <= value <= MAX_SCORE):
            raise JobRefusedError(f"{key} must be a number from 0 to {MAX_SCORE:g}")
    for key in NUMERIC_FACTS:
        value = result.get(key)
        if value is not None and not (_finite_number(value) and 0 <= value <= MAX_FACT):
            raise JobRefusedError(f"{key} must be a finite number ≥ 0")
    for key in ("bytes_trained", "byte_budget", "param_count", "steps"):
        value = result.get(key)
        if value is not None and not isinstance(value, int):
            raise JobRefusedError(f"{key} must be a whole number")
    if not isinstance(result.get("stopped_early", False), bool):
        raise JobRefusedError("stopped_early must be true or false")
    curve = result.get("loss_curve") or []
    if not isinstance(curve, list) or len(curve) > MAX_CURVE_POINTS:
        raise JobRefusedError(f"loss_curve must be a list of at most {MAX_CURVE_POINTS:,} points")
    for point in curve:  # the pages draw them: numbers only, under the engine's names
        if (
            not isinstance(point, dict)
            or not set(point) <= CURVE_KEYS
            or not all(_finite_number(value) and abs(value) <= MAX_FACT for value in point.values())
        ):
            raise JobRefusedError(
                f"each loss_curve point is an object of finite numbers named {sorted(CURVE_KEYS)}"
            )
    return json_safe(result)  # text without NUL or lone surrogates: PostgreSQL stores neither


def _finite_number(value: Any) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value) and abs(value) < 2**63
    except OverflowError:  # an integer too big for a float
        return False
