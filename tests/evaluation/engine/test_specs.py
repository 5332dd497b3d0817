"""Specs, config validation, corpus integrity and metric formulas (no training here)."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import pytest
import torch

from evaluation.engine import data, metrics
from evaluation.engine.specs import SPECS, spec_get, validate_config


def test_required_benchmarks_exist_and_describe_as_json() -> None:
    assert {"demo-cpu", "gpu-small"} <= set(SPECS)
    described = json.loads(json.dumps({name: s.describe() for name, s in SPECS.items()}))
    assert described["demo-cpu"]["config"]["lr"]["maximum"] == 0.1
    assert described["gpu-small"]["device"] == "cuda"
    with pytest.raises(KeyError, match="unknown benchmark"):
        spec_get("nope")


def test_validate_config_accepts_defaults_and_reports_each_problem() -> None:
    assert validate_config("demo-cpu", {}) == []
    assert validate_config("demo-cpu", {"lr": 0.001, "n_layer": 3, "custom_width": 7}) == []
    problems = dict(
        validate_config(
            "demo-cpu",
            {"lr": 5.0, "n_layer": 2.5, "bogus": 1, "beta1": "high", "custom_x": [1]},
        )
    )
    assert problems["lr"] == "must be <= 0.1"
    assert problems["n_layer"] == "must be an integer"
    assert problems["bogus"].startswith("unknown key; allowed:")
    assert problems["beta1"] == "must be a number"
    assert "custom_x" in problems
    assert validate_config("demo-cpu", {"micro_batch_size": 5}) == [
        ("micro_batch_size", "must divide batch_size (16)")
    ]
    assert validate_config("demo-cpu", []) == [("__all__", "config must be a JSON object")]
    assert validate_config("missing", {})[0][0] == "__all__"
    assert validate_config("demo-cpu", {"lr": float("nan")}) == [("lr", "must be a number")]


def test_corpus_checksum_and_split() -> None:
    train, val = data.corpus_split("shakespeare")
    assert len(val) == data.VAL_BYTES
    assert len(train) + len(val) == data.CORPORA["shakespeare"].size
    assert train[-200:] not in val
    assert SPECS["gpu-small"].scored_bytes + 1 <= len(val)
    assert SPECS["demo-cpu"].scored_bytes + 1 <= len(val)


def test_corrupted_corpus_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original = gzip.decompress((data.CORPUS_DIR / "shakespeare.txt.gz").read_bytes())
    tampered = original.replace(b"Hamlet", b"Hamlot", 1)
    (tmp_path / "shakespeare.txt.gz").write_bytes(gzip.compress(tampered))
    monkeypatch.setattr(data, "CORPUS_DIR", tmp_path)
    data.corpus_load.cache_clear()
    try:
        with pytest.raises(data.CorpusError, match="fails its checksum"):
            data.corpus_load("shakespeare")
    finally:
        data.corpus_load.cache_clear()


def test_uniform_logits_are_exactly_eight_bits() -> None:
    logits = torch.zeros(4, 16, 256)
    targets = torch.randint(0, 256, (4, 16))
    total = float(metrics.target_log_probs(logits, targets).sum())
    assert metrics.bits_per_byte(total, 64) == pytest.approx(8.0, abs=1e-12)


def test_mfu_formula() -> None:
    per_byte = metrics.flops_per_byte(
        non_embedding_params=85_000_000, n_layer=12, n_head=12, head_dim=64, block_size=1024
    )
    assert per_byte == 6 * 85_000_000 + 12 * 12 * 12 * 64 * 1024
    value = metrics.mfu(
        bytes_per_second=1e6, flops_per_byte_value=per_byte, device_name="NVIDIA H200"
    )
    assert value is not None and math.isclose(value, 1e6 * per_byte / 989e12)
    assert metrics.mfu(bytes_per_second=1e6, flops_per_byte_value=1.0, device_name="cpu") is None


def test_cli_lists_specs() -> None:
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-m", "evaluation.engine", "list", "--json"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    assert listed["demo-cpu"]["steps"] == SPECS["demo-cpu"].steps
    assert "n_layer" in listed["gpu-small"]["config"]
