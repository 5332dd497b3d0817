"""Multi-process runs (a benchmark's `gpus`): the training pass under `torchrun --standalone`
in the sandbox, DistributedDataParallel over gloo on this machine's CPU (NCCL on GPUs), each
rank served its share of every micro-batch by the harness through its own named pipes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evaluation.engine.specs import BenchmarkSpec, config_errors
from tests.evaluation.engine.conftest import BIGRAM

# The reference model (a config-only submission), two micro-batches per step: the gradient
# the ranks average must be the one process's, accumulation included.
CONFIG = {"n_layer": 1, "n_embd": 32, "n_head": 2, "micro_batch_size": 4}

Run = Callable[..., dict[str, Any]]


def test_two_gloo_processes_train_the_reference_as_one_process_does(
    run: Run, tiny_spec: Callable[..., BenchmarkSpec], make_submission: Callable[..., Path]
) -> None:
    folder = make_submission(config=CONFIG)
    budget = 8 * 32 * 12
    one = run(tiny_spec(byte_budget=budget), folder, seed=3)
    two = run(tiny_spec(byte_budget=budget, gpus=2), folder, seed=3)
    assert one["status"] == two["status"] == "ok", (one["error"], two["error"])
    assert two["gpus"] == 2 and one["gpus"] == 1
    # The harness counted the whole budget, over both ranks, as for one process.
    assert two["bytes_trained"] == one["bytes_trained"] == budget
    assert two["steps"] == one["steps"] == 12
    losses_one = [point["loss"] for point in one["loss_curve"]]
    losses_two = [point["loss"] for point in two["loss_curve"]]
    assert len(losses_two) == len(losses_one) == 12
    assert losses_two == pytest.approx(losses_one, abs=1e-4)
    assert two["val_bits_per_byte"] == pytest.approx(one["val_bits_per_byte"], abs=1e-4)
    # …and the DDP run trains: the loss falls well below a uniform guess's ln 256 = 5.55.
    assert losses_two[-1] < losses_two[0] - 0.5
    assert two["causality"]["max_abs_diff_nats"] <= two["causality"]["tolerance_nats"]
    assert two["param_count"] == one["param_count"]


RANK_ONE_SENDS_A_CHECKPOINT = (
    BIGRAM
    + """
import __main__

def build_model(vocab_size, block_size, config):
    if os.environ.get("RANK") == "1":
        __main__.send(b"C", b"x" * 100)
    return Bigram()
"""
)


def test_only_the_first_rank_may_send_a_checkpoint(
    run: Run, tiny_spec: Callable[..., BenchmarkSpec], make_submission: Callable[..., Path]
) -> None:
    result = run(tiny_spec(gpus=2), make_submission(RANK_ONE_SENDS_A_CHECKPOINT))
    assert result["status"] == "failed"
    assert "rank 1 sent a 'C' frame" in result["error"]
    assert result["fault"] == "submission"


def test_a_micro_batch_must_split_evenly_over_the_processes(
    tiny_spec: Callable[..., BenchmarkSpec],
) -> None:
    spec = tiny_spec(gpus=4)
    assert config_errors(spec, {"micro_batch_size": 4}) == []
    [(key, message)] = config_errors(spec, {"micro_batch_size": 2})
    assert key == "micro_batch_size" and "multiple of the benchmark's 4 processes" in message
