"""Attacks a red-team review found against the hardened engine, each kept with its fix.

Checkpoint smuggling (weights in names, wider dtypes, extra zip content), a zip bomb and sparse
tensors for the harness's checkpoint reader, a training clock stopped by a forged frame,
memory fanned out over child processes, and strings no database can store.
"""

from __future__ import annotations

import json

import pytest

from evaluation.engine.sandbox import Sandbox
from tests.evaluation.engine.conftest import BIGRAM

# The real weights ride in a state_dict *name*; load_state_dict would decode them.
WEIGHTS_IN_NAMES = (
    BIGRAM
    + """
    def state_dict(self, *args, **kwargs):
        blob = "x" * 5000  # stands for 1,250 float32 numbers' worth of bytes
        return {"table.weight": self.table.weight.detach(), "blob:" + blob: torch.zeros(1)}

def build_model(vocab_size, block_size, config):
    return Bigram()
"""
)

# 1,000 complex128 numbers hold 4,000 float32 numbers' worth.
WIDE = (
    BIGRAM.replace(
        "self.table = nn.Embedding(256, 256)",
        "self.table = nn.Embedding(256, 256)\n"
        "        self.packed = nn.Parameter(torch.zeros(1000, dtype=torch.complex128))",
    )
    + "\ndef build_model(v, b, c):\n    return Bigram()\n"
)

# The checkpoint deflated, with 256 MiB of zeros in an extra record: a few hundred KiB sent.
ZIP_BOMB = (
    BIGRAM
    + """
import io, zipfile
_save = torch.save

def bomb_save(obj, f, *args, **kwargs):
    plain = io.BytesIO()
    _save(obj, plain)
    out = io.BytesIO()
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
        dst.writestr("archive/padding", bytes(256 << 20))
    f.write(out.getvalue())

torch.save = bomb_save

def build_model(vocab_size, block_size, config):
    return Bigram()
"""
)

SPARSE = (
    BIGRAM
    + """
    def state_dict(self, *args, **kwargs):
        return {"table.weight": self.table.weight.detach().to_sparse()}

def build_model(vocab_size, block_size, config):
    return Bigram()
"""
)

# Sends a forged first checkpoint byte right after its first data request (the clock used to
# stop at the first checkpoint frame), drops that byte from the real checkpoint, then trains
# slowly: at least 6 × 0.4 s.
EARLY_FRAME = (
    BIGRAM.replace(
        "return self.table(idx)",
        "if self.training:\n            time.sleep(0.4)\n        return self.table(idx)",
    )
    + """
import __main__
_send, _request = __main__.send, __main__.request_batch
state = {"forged": False, "stripped": False}

def send(kind, payload):
    if kind == b"C" and not state["stripped"]:
        payload, state["stripped"] = payload[1:], True
    _send(kind, payload)

def request_batch(size):
    data = _request(size)
    if not state["forged"]:
        _send(b"C", b"P")
        state["forged"] = True
    return data

__main__.send, __main__.request_batch = send, request_batch

def build_model(vocab_size, block_size, config):
    return Bigram()
"""
)

# Three plain child processes each fill 1.2 GiB: more than the pass may hold together (3 GiB),
# though each alone is far under the per-process limit.
FAN_OUT = (
    BIGRAM.replace(
        "self.table = nn.Embedding(256, 256)",
        """self.table = nn.Embedding(256, 256)
        import subprocess
        child = "import time; x = b'\\\\1' * (1200 << 20); time.sleep(3)"
        kids = [subprocess.Popen([sys.executable, "-I", "-c", child]) for _ in range(3)]
        print("CHILDREN", [kid.wait() for kid in kids], flush=True)""",
    )
    + "\ndef build_model(v, b, c):\n    return Bigram()\n"
)

# A lone surrogate and a NUL in strings the harness copies into the result.
BAD_STRINGS = (
    BIGRAM
    + """
import __main__
_facts = __main__.device_facts
__main__.device_facts = lambda device: {**_facts(device), "device_name": "cpu\\ud800\\u0000"}

def build_model(vocab_size, block_size, config):
    return Bigram()
"""
)


def test_weights_hidden_in_names_are_refused(run, tiny_spec, make_submission):
    result = run(tiny_spec(), make_submission(WEIGHTS_IN_NAMES))
    assert result["status"] == "failed"
    assert "the trained checkpoint is refused: its names are too long" in result["error"]
    assert result["fault"] == "submission"


def test_wide_numbers_count_by_their_bytes(run, tiny_spec, make_submission):
    result = run(tiny_spec(), make_submission(WIDE))
    assert result["status"] == "ok", result["error"]
    assert result["param_count"] == 256 * 256 + 4 * 1000


def test_a_compressed_checkpoint_is_refused_before_it_is_inflated(run, tiny_spec, make_submission):
    result = run(tiny_spec(), make_submission(ZIP_BOMB))
    assert result["status"] == "failed"
    assert "the trained checkpoint is refused" in result["error"]
    assert "compressed" in result["error"] or "claim more bytes" in result["error"]
    assert result["fault"] == "submission"


def test_a_sparse_checkpoint_is_the_submission_fault(run, tiny_spec, make_submission):
    result = run(tiny_spec(), make_submission(SPARSE))
    assert result["status"] == "failed"
    assert "'table.weight' is not a dense tensor" in result["error"]
    assert result["fault"] == "submission"


def test_a_forged_frame_that_stops_the_clock_also_stops_the_data(run, tiny_spec, make_submission):
    """The first checkpoint frame ends training by the harness's clock, and serving with it:
    the figures stay true to each other (one step's data in the time it took)."""
    spec = tiny_spec()
    result = run(spec, make_submission(EARLY_FRAME))
    assert result["steps"] == 1 and result["bytes_trained"] == spec.batch_size * spec.block_size
    assert result["stopped_early"] is True
    assert result["bytes_per_second"] <= result["bytes_trained"] / 0.4


def test_children_cannot_take_more_memory_than_the_pass_together(run, tiny_spec, make_submission):
    if not Sandbox().cgroups:
        pytest.skip("no cgroup for the engine on this host: memory is limited per process")
    limit = 3 << 30
    result = run(tiny_spec(memory_limit_bytes=limit), make_submission(FAN_OUT))
    assert result["status"] == "ok", result["error"]
    assert result["peak_memory_bytes"] <= limit
    children = json.loads(result["log_tail"].split("CHILDREN ", 1)[1].splitlines()[0])
    assert -9 in children  # the kernel killed at least one for the pass's limit


def test_strings_are_stored_clean(run, tiny_spec, make_submission):
    result = run(tiny_spec(), make_submission(BAD_STRINGS))
    assert result["status"] == "ok", result["error"]
    assert result["reported"]["device_name"] == "cpu?"
    text = json.dumps(result, ensure_ascii=False, allow_nan=False)
    text.encode("utf-8")  # no lone surrogate left
    assert "\\u0000" not in text and "\x00" not in text


# Fetches every batch of its budget at once, then trains on them slowly: without a deadline
# after the last data served, it could train past the cap until the outer watchdog.
PREFETCH = (
    BIGRAM.replace(
        "return self.table(idx)",
        "if self.training:\n            time.sleep(0.5)\n        return self.table(idx)",
    )
    + """
import __main__
_request = __main__.request_batch
AHEAD = []

def request_batch(size):
    if not AHEAD:
        while (data := _request(size)) is not None:
            AHEAD.append(data)
        AHEAD.append(None)
    return AHEAD.pop(0)

__main__.request_batch = request_batch

def build_model(vocab_size, block_size, config):
    return Bigram()
"""
)


def test_data_fetched_ahead_cannot_be_trained_on_past_the_deadline(run, tiny_spec, make_submission):
    spec = tiny_spec(finish_grace_s=1.0)
    result = run(spec, make_submission(PREFETCH))
    assert result["status"] == "failed"
    assert "did not send its checkpoint within 1 s of its last training data" in result["error"]


# A trainer of its own: it takes every batch but the last (so serving never ends), trains on
# them past the cap, then sends its checkpoint. The cap holds: the checkpoint is due
# finish_grace_s after train_wall_s, however the worker paces its requests.
WITHHOLD = """
import io, json, __main__

def build_model(vocab_size, block_size, config):
    model = nn.Embedding(256, 256)
    if sys.argv[1] != "train":
        return model
    job = json.loads(open(os.path.join(sys.argv[2], "job.json")).read())
    micro, accum = job["micro_batch_size"], job["batch_size"] // job["micro_batch_size"]
    for _ in range(job["steps"] * accum - 1):
        __main__.request_batch(micro * (block_size + 1))
    time.sleep(8)  # training on what it holds, long past the 2 s cap
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    __main__.send(b"C", buffer.getvalue())
    __main__.send_json({"type": "summary", "steps": job["steps"]})
    os._exit(0)
"""

# One stored number behind a view of 2^40 numbers, and an empty tensor whose shape is data.
VIEWS = (
    """
SHAPES = {"expanded": lambda: torch.zeros(1).expand(1 << 40), "empty": lambda: torch.zeros(0, 3, 4)}
"""
    + BIGRAM
    + """
    def state_dict(self, *args, **kwargs):
        return {"table.weight": self.table.weight.detach(), "extra": SHAPES[KIND]()}

def build_model(vocab_size, block_size, config):
    return Bigram()
"""
)


def test_a_worker_that_paces_its_own_requests_still_meets_the_cap(run, tiny_spec, make_submission):
    spec = tiny_spec(train_wall_s=2.0, finish_grace_s=1.0, startup_grace_s=30.0)
    result = run(spec, make_submission(WITHHOLD))
    assert result["status"] == "failed"
    assert "did not send its checkpoint within 1 s" in result["error"]
    assert "of the 2 s training cap" in result["error"]


@pytest.mark.parametrize("kind", ["expanded", "empty"])
def test_views_and_empty_tensors_in_a_checkpoint_are_refused(run, tiny_spec, make_submission, kind):
    result = run(tiny_spec(), make_submission(f"KIND = {kind!r}\n" + VIEWS))
    assert result["status"] == "failed"
    assert "'extra' must be a whole, contiguous, non-empty tensor" in result["error"]
    assert result["fault"] == "submission"
