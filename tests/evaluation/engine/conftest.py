"""Fixtures for the engine tests: tiny benchmark specs and submission folders.

No database, no Django: the engine runs as a plain library. Every run here is a real
sandboxed training and scoring run, only with budgets of a few steps.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evaluation.engine.sandbox import Sandbox, SandboxUnavailableError
from evaluation.engine.specs import SPECS, BenchmarkSpec

TINY = SPECS["demo-cpu"].with_overrides(
    name="tiny-test",
    block_size=32,
    batch_size=8,
    byte_budget=8 * 32 * 6,
    # Generous: tests that assert the whole budget trained must not depend on this shared
    # machine's load (a CI run once needed over 30 s for the first step); tests of the cap
    # set their own.
    train_wall_s=120.0,
    startup_grace_s=30.0,
    eval_windows=32,
    eval_batch_size=8,
    eval_wall_s=30.0,
    log_every=1,
    scratch_bytes=64 << 20,
    max_output_bytes=1 << 20,
)

# An honest byte-bigram model (the class only: tests add build_model or override methods).
BIGRAM = """
class Bigram(nn.Module):
    def __init__(self):
        super().__init__()
        self.table = nn.Embedding(256, 256)

    def forward(self, idx):
        return self.table(idx)
"""


def uids_in_use() -> set[int]:
    """The users of every process on this machine (each `/proc/PID` belongs to its user)."""
    uids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                uids.add(entry.stat().st_uid)
            except OSError:
                continue
    return uids


# A model with one parameter whose logits ignore the input except through `body`.
MODEL_HEADER = """
import os, sys, time, socket
import torch
from torch import nn
"""


@pytest.fixture
def tiny_spec() -> Callable[..., BenchmarkSpec]:
    """A benchmark of a few steps on 32-byte windows; keyword arguments override fields."""

    def make(**changes: Any) -> BenchmarkSpec:
        return TINY.with_overrides(**changes)

    return make


@pytest.fixture
def make_submission(tmp_path: Path) -> Callable[..., Path]:
    counter = iter(range(1000))

    def make(model: str | None = None, config: dict[str, Any] | None = None, **extra: str) -> Path:
        folder = tmp_path / f"submission{next(counter)}"
        folder.mkdir()
        (folder / "config.json").write_text(json.dumps(config or {}))
        if model is not None:
            (folder / "model.py").write_text(MODEL_HEADER + textwrap.dedent(model))
        for name, source in extra.items():
            (folder / f"{name}.py").write_text(MODEL_HEADER + textwrap.dedent(source))
        return folder

    return make


def _bwrap_ok() -> bool:
    try:
        Sandbox()
    except SandboxUnavailableError:
        return False
    return True


@pytest.fixture(scope="session")
def sandboxed() -> None:
    """Skip where bubblewrap cannot build the sandbox (the engine then refuses to run)."""
    if not _bwrap_ok():
        pytest.skip("bubblewrap sandbox unavailable here")


@pytest.fixture
def run(sandboxed: None) -> Callable[..., dict[str, Any]]:
    """run(spec, folder, seed=0) -> result dict, sandboxed, progress silenced."""
    from evaluation.engine.runner import run_benchmark

    def go(spec: BenchmarkSpec, folder: Path, seed: int = 0, **kwargs: Any) -> dict[str, Any]:
        return run_benchmark(spec, folder, seed=seed, progress=None, **kwargs)

    return go
