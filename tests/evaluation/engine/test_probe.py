"""Scoring is right, reproducible and causal: real sandboxed runs with tiny budgets."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from evaluation.engine import data
from evaluation.engine.specs import SPECS

REPO = Path(__file__).resolve().parents[3]

UNIFORM = """
class Uniform(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))

    def forward(self, idx):
        return torch.zeros(*idx.shape, 256) * self.w

def build_model(vocab_size, block_size, config):
    return Uniform()
"""

UNIGRAM = """
class Unigram(nn.Module):
    def __init__(self, vocab_size):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(vocab_size))

    def forward(self, idx):
        return self.bias.expand(*idx.shape, -1)

def build_model(vocab_size, block_size, config):
    return Unigram(vocab_size)
"""

# Predicts byte t+1 by reading it: the causality probe must reject it.
LOOK_AHEAD = """
class Peek(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(1.0))

    def forward(self, idx):
        nxt = torch.roll(idx, -1, dims=1)
        return torch.nn.functional.one_hot(nxt, 256).float() * 20 * self.scale
"""

# Behaves whenever the call looks like a probe (batch of 1, short or unusual sequences,
# repeated prefixes) or once it has already been called a few times in this process: the
# classic ways a naive checker is gamed.
SNEAKY = """
CALLS = [0]

class Sneaky(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(1.0))
        self.bias = nn.Parameter(torch.zeros(256))

    def forward(self, idx):
        CALLS[0] += 1
        honest = self.bias.expand(*idx.shape, -1)
        looks_like_probe = idx.shape[0] == 1 or idx.shape[1] != 32 or bool(
            (idx[:, :8] == idx[:1, :8]).all()
        )
        marker = os.path.join(os.environ.get("TMPDIR", "/tmp"), "seen")
        if os.path.exists(marker) and not self.training:
            looks_like_probe = True
        if not self.training and CALLS[0] > 4:
            open(marker, "w").close()
        if looks_like_probe or self.training:
            return honest
        nxt = torch.roll(idx, -1, dims=1)
        return honest + torch.nn.functional.one_hot(nxt, 256).float() * 20 * self.scale
"""


def _train_unigram_cross_entropy(spec) -> float:
    """Independent: bits per byte of the scored validation span under training frequencies."""
    train, val = data.corpus_split(spec.corpus)
    counts = Counter(train)
    total = len(train)
    scored = val[1 : spec.eval_windows * spec.block_size + 1]
    return -sum(math.log2(counts[b] / total) for b in scored) / len(scored)


def test_uniform_logits_score_exactly_eight(run, tiny_spec, make_submission) -> None:
    result = run(tiny_spec(byte_budget=8 * 32 * 2), make_submission(UNIFORM))
    assert result["status"] == "ok", result["error"]
    assert result["bytes_trained"] == result["byte_budget"] == 8 * 32 * 2
    assert result["loss_curve"][-1]["bytes"] == 8 * 32 * 2
    assert result["val_bits_per_byte"] == pytest.approx(8.0, abs=1e-9)
    assert f"{result['val_bits_per_byte']:.3f}" == "8.000"


@pytest.fixture(scope="module")
def unigram_result(tmp_path_factory, sandboxed) -> dict:
    from evaluation.engine.runner import run_benchmark

    folder = tmp_path_factory.mktemp("unigram")
    (folder / "model.py").write_text("import torch\nfrom torch import nn\n" + UNIGRAM)
    (folder / "config.json").write_text(
        json.dumps({"lr": 0.05, "warmup_frac": 0.0, "min_lr_frac": 0.1, "weight_decay": 0.0})
    )
    spec = SPECS["demo-cpu"].with_overrides(
        name="unigram-test", byte_budget=16 * 128 * 400, log_every=50
    )
    return run_benchmark(spec, folder, seed=0, progress=None) | {"spec": spec}


def test_unigram_matches_independent_cross_entropy(unigram_result) -> None:
    assert unigram_result["status"] == "ok", unigram_result["error"]
    expected = _train_unigram_cross_entropy(unigram_result["spec"])
    assert abs(unigram_result["val_bits_per_byte"] - expected) < 0.05, expected


def test_reference_on_demo_cpu_via_cli(sandboxed, tmp_path, unigram_result) -> None:
    """The CLI trains + scores demo-cpu's reference, curve going down, beating the unigram model.

    Half the budget (150 of 300 steps) keeps the suite quick; the full run and its wall time
    (acceptance: < 90 s) are figures of benchmarks/bench_engine.py, since tests hold no timed
    asserts and this machine is shared."""
    out = tmp_path / "result.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "evaluation.engine",
            "run",
            "--benchmark",
            "demo-cpu",
            "--submission",
            str(REPO / "evaluation/engine/reference"),
            "--seed",
            "0",
            "--out",
            str(out),
            "--budget-bytes",
            str(16 * 128 * 150),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    result = json.loads(out.read_text())
    assert done.returncode == 0, done.stdout + done.stderr
    assert "step" in done.stdout and "B/s" in done.stdout
    assert result["status"] == "ok", result["error"]
    assert result["official"] is False  # budget cut on the command line
    curve = result["loss_curve"]
    assert curve[-1]["loss"] < curve[0]["loss"] - 2.0
    assert set(curve[0]) == {"step", "bytes", "loss", "lr", "elapsed"}
    assert result["byte_budget"] == 16 * 128 * 150
    if result["stopped_early"]:  # the wall-clock cap, when this shared machine is overloaded
        assert result["bytes_trained"] < result["byte_budget"]
        assert "hit the wall-clock cap" in done.stdout
    else:
        assert result["bytes_trained"] == result["byte_budget"]
    assert result["val_bits_per_byte"] < unigram_result["val_bits_per_byte"] - 1.0
    assert result["causality"]["max_abs_diff_nats"] <= result["causality"]["tolerance_nats"]
    assert result["param_count"] > 100_000 and result["mfu"] is None
    assert result["device"] == "cpu" and result["torch_version"]


def test_look_ahead_model_is_rejected(run, tiny_spec, make_submission) -> None:
    folder = make_submission(LOOK_AHEAD + "\ndef build_model(v, b, c):\n    return Peek()\n")
    result = run(tiny_spec(), folder)
    assert result["status"] == "rejected"
    assert "causality check failed" in result["error"]
    assert result["val_bits_per_byte"] is None


def test_probe_aware_and_stateful_cheater_is_rejected(run, tiny_spec, make_submission) -> None:
    folder = make_submission(SNEAKY + "\ndef build_model(v, b, c):\n    return Sneaky()\n")
    result = run(tiny_spec(), folder)
    assert result["status"] == "rejected", result
    assert "causality check failed" in result["error"]


def test_same_seed_same_score_bit_for_bit(run, tiny_spec, make_submission) -> None:
    spec = tiny_spec(byte_budget=8 * 32 * 10)
    folder = make_submission(config={"n_layer": 1, "n_embd": 32, "n_head": 2})
    first, second = run(spec, folder, seed=3), run(spec, folder, seed=3)
    assert first["status"] == second["status"] == "ok"
    assert first["val_bits_per_byte"] == second["val_bits_per_byte"]
    assert [p["loss"] for p in first["loss_curve"]] == [p["loss"] for p in second["loss_curve"]]
