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


# Red-team finds, kept: another rank's summary was taken as the run's; a share copied out of the
# pipe without being consumed (tee) was not counted, so the figures said one step less.

RANK_ONE_FORGES_THE_SUMMARY = (
    BIGRAM
    + """
import __main__

def build_model(vocab_size, block_size, config):
    if os.environ.get("RANK") == "1":
        __main__.send_json({"type": "summary", "steps": 123456, "device_name": "forged"})
    return Bigram()
"""
)

TEE_THE_LAST_SHARE = (
    BIGRAM
    + """
import __main__, ctypes, fcntl, json

def build_model(vocab_size, block_size, config):
    fcntl.fcntl(__main__.DATA_FD, 1031, 4096)  # F_SETPIPE_SZ: the pipe holds one page
    libc = ctypes.CDLL(None, use_errno=True)
    steps = json.loads(open("/job/job.json").read())["steps"]
    calls = [0]
    ask = __main__.request_batch

    def request_batch(size):
        calls[0] += 1
        if calls[0] < steps:
            return ask(size)
        __main__.send(b"R", b"")
        read, write = os.pipe()
        got = b""
        while len(got) < 4096:  # copy what the pipe holds, leaving it there
            time.sleep(0.05)
            if libc.tee(__main__.DATA_FD, write, 4096, 0) > 0:
                got = os.read(read, 8192)
        return got + got[: size - len(got)]

    __main__.request_batch = request_batch
    return Bigram()
"""
)


def test_only_the_first_rank_may_send_the_summary(
    run: Run, tiny_spec: Callable[..., BenchmarkSpec], make_submission: Callable[..., Path]
) -> None:
    result = run(tiny_spec(gpus=2), make_submission(RANK_ONE_FORGES_THE_SUMMARY))
    assert result["status"] == "failed" and result["fault"] == "submission"
    assert "rank 1 sent a 'summary' record" in result["error"]


def test_a_share_copied_out_without_being_consumed_is_counted(
    run: Run, tiny_spec: Callable[..., BenchmarkSpec], make_submission: Callable[..., Path]
) -> None:
    spec = tiny_spec(batch_size=128, byte_budget=128 * 32 * 6)  # 4,224-byte micro-batches
    result = run(spec, make_submission(TEE_THE_LAST_SHARE))
    assert result["status"] == "ok", result["error"]
    assert result["steps"] == 6 and result["bytes_trained"] == spec.byte_budget
    assert result["stopped_early"] is False
