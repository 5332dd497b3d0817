"""The second round of cheats: each one a hostile submission of our own, each closed.

1. state carried between passes and runs through kernel objects (key rings, SysV IPC, shared
   memory, abstract sockets, /tmp) or a nested user namespace;
2. a look-ahead at one position only, and a model that reads the other rows of its batch;
3. a trainer that reports false figures about itself;
4. a flood of frames, and frames that are huge, deeply nested or not finite;
5. a folder that shadows a standard-library module the worker imports;
6. concurrent runs on one machine while another run is a fork bomb.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import re

import pytest

from evaluation.engine.runner import REFERENCE_DIR, is_reference_code
from tests.evaluation.engine.conftest import BIGRAM, uids_in_use

SMALL = {"n_layer": 1, "n_embd": 32, "n_head": 2}


# -- 1. nothing of one pass reaches another ------------------------------------------------

# In the training pass it leaves a message in every kernel object it can reach; in a logits
# pass (the checkpoint is there) it looks for them and reports what it found, with its uid.
RELAY = r"""
import ctypes, ctypes.util, errno, platform

libc = ctypes.CDLL(None, use_errno=True)
NR = {"x86_64": {"add_key": 248, "request_key": 249, "keyctl": 250},
      "aarch64": {"add_key": 217, "request_key": 218, "keyctl": 219}}[platform.machine()]
KEY_SPEC_USER_KEYRING = -4
ABSTRACT = b"\0crucible-relay"

def try_(what, fn):
    ctypes.set_errno(0)
    try:
        value = fn()
    except OSError as exc:
        return (what, "denied", exc.errno)
    err = ctypes.get_errno()
    return (what, value, err)

def leave():
    out = [("uid", os.getuid())]
    out.append(try_("add_key", lambda: libc.syscall(NR["add_key"], b"user", b"crucible-relay",
                                                    b"SECRET", 6, KEY_SPEC_USER_KEYRING)))
    out.append(try_("shmget", lambda: libc.shmget(0x5EC2E7, 4096, 0o1666)))
    with open("/dev/shm/crucible-relay", "w") as handle:
        handle.write("SECRET")
    with open("/tmp/crucible-relay", "w") as handle:
        handle.write("SECRET")
    server = socket.socket(socket.AF_UNIX)
    server.bind(ABSTRACT)
    server.listen()
    globals()["SERVER"] = server
    return out

def find():
    out = [("uid", os.getuid())]
    out.append(try_("request_key", lambda: libc.syscall(NR["request_key"], b"user",
                                                        b"crucible-relay", None, 0)))
    out.append(try_("shmget", lambda: libc.shmget(0x5EC2E7, 4096, 0o666)))
    for path in ("/dev/shm/crucible-relay", "/tmp/crucible-relay"):
        out.append((path, os.path.exists(path)))
    client = socket.socket(socket.AF_UNIX)
    try:
        client.connect(ABSTRACT)
        out.append(("abstract socket", "FOUND"))
    except OSError as exc:
        out.append(("abstract socket", "absent", exc.errno))
    return out

class Relay(nn.Module):
    def __init__(self):
        super().__init__()
        self.table = nn.Embedding(256, 256)
        if os.path.exists("/job/checkpoint.pt"):
            raise RuntimeError("FOUND " + repr(find()))
        print("LEFT " + repr(leave()), flush=True)

    def forward(self, idx):
        return self.table(idx)

def build_model(vocab_size, block_size, config):
    return Relay()
"""

# Every call the filter must refuse, made directly, and what the kernel said.
FORBIDDEN_CALLS = r"""
import ctypes, errno, platform, mmap

libc = ctypes.CDLL(None, use_errno=True)
X86 = {"keyctl": 250, "add_key": 248, "unshare": 272, "setns": 308, "ptrace": 101,
       "bpf": 321, "perf_event_open": 298, "userfaultfd": 323, "mount": 165, "clone3": 435,
       "io_uring_setup": 425, "process_vm_readv": 310, "request_key": 249, "clone": 56}
ARM = {"keyctl": 219, "add_key": 217, "unshare": 97, "setns": 268, "ptrace": 117, "bpf": 280,
       "perf_event_open": 241, "userfaultfd": 282, "mount": 40, "clone3": 435,
       "io_uring_setup": 425, "process_vm_readv": 270, "request_key": 218, "clone": 220}
NR = X86 if platform.machine() == "x86_64" else ARM
CLONE_NEWUSER = 0x10000000

def attack(config):
    out = {}
    attr = ctypes.create_string_buffer(128)
    args = {"unshare": (CLONE_NEWUSER,), "setns": (0, 0), "ptrace": (16, 1, 0, 0),
            "bpf": (0, attr, 128), "perf_event_open": (attr, 0, -1, -1, 0),
            "userfaultfd": (0,), "mount": (b"none", b"/tmp", b"tmpfs", 0, None),
            "clone3": (attr, 88), "io_uring_setup": (1, attr), "keyctl": (0, -4, 0),
            "add_key": (b"user", b"k", b"v", 1, -4), "process_vm_readv": (1, None, 0, None, 0, 0),
            "request_key": (b"user", b"k", None, 0),
            # A new user namespace in a fork-like clone (SIGCHLD): were it allowed, the parent
            # would see a pid here.
            "clone": (CLONE_NEWUSER | 17, 0, 0, 0, 0)}
    for name, nr in NR.items():
        ctypes.set_errno(0)
        value = libc.syscall(nr, *args[name])
        out[name] = (value, errno.errorcode.get(ctypes.get_errno(), ctypes.get_errno()))
    return sorted(out.items())

def build_model(vocab_size, block_size, config):
    raise RuntimeError("REPORT " + repr(attack(config)))
"""


def test_no_kernel_state_passes_between_passes_or_runs(run, tiny_spec, make_submission):
    folder = make_submission(RELAY, config={})
    first = run(tiny_spec(), folder)
    assert first["status"] == "failed", first
    left = eval(re.search(r"LEFT (\[.*\])", first["log_tail"]).group(1))  # noqa: S307 - our own repr
    found = eval(re.search(r"FOUND (\[.*\])", first["error"]).group(1))  # noqa: S307
    train_uid, score_uid = left[0][1], found[0][1]
    assert train_uid != score_uid and 65534 not in (train_uid, score_uid)
    assert left[1][0] == "add_key" and left[1][1] == -1  # refused by the filter
    facts = {item[0]: item[1:] for item in found}
    assert facts["request_key"][0] == -1
    assert facts["shmget"][0] == -1  # a new IPC namespace: nothing to find
    assert facts["/dev/shm/crucible-relay"] == (False,)
    assert facts["/tmp/crucible-relay"] == (False,)
    assert facts["abstract socket"][0] == "absent"

    # A second run of the same code (the "later run of any other submission") finds nothing
    # either, and runs as yet another uid.
    second = run(tiny_spec(), folder)
    found_again = eval(re.search(r"FOUND (\[.*\])", second["error"]).group(1))  # noqa: S307
    assert found_again[0][1] not in (train_uid, score_uid)
    assert {item[0]: item[1:] for item in found_again}["shmget"][0] == -1


def test_seccomp_refuses_key_rings_namespaces_and_kernel_interfaces(
    run, tiny_spec, make_submission
):
    result = run(tiny_spec(), make_submission(FORBIDDEN_CALLS))
    assert result["status"] == "failed" and "REPORT" in result["error"]
    report = dict(eval(result["error"].split("REPORT ", 1)[1].splitlines()[0]))  # noqa: S307
    for name in ("keyctl", "add_key", "request_key", "unshare", "clone", "setns", "ptrace"):
        assert report[name] == (-1, "EPERM"), (name, report[name])
    for name in ("bpf", "perf_event_open"):
        assert report[name] == (-1, "EPERM"), (name, report[name])
    for name in ("userfaultfd", "mount", "io_uring_setup", "process_vm_readv"):
        assert report[name] == (-1, "EPERM"), (name, report[name])
    assert report["clone3"] == (-1, "ENOSYS")  # so the C library falls back to clone


# -- 2. the probe covers every position and every batch composition --------------------------

# Honest bigram, except at one position, where it reads the next byte.
ONE_POSITION_PEEK = """
class OnePeek(nn.Module):
    def __init__(self):
        super().__init__()
        self.table = nn.Embedding(256, 256)

    def forward(self, idx):
        logits = self.table(idx)
        if self.training:
            return logits
        boost = torch.zeros_like(logits)
        position = 17
        boost[:, position] = torch.nn.functional.one_hot(idx[:, position + 1], 256).float() * 8
        return logits + boost

def build_model(vocab_size, block_size, config):
    return OnePeek()
"""

# Honest bigram plus a "cache" built from the other rows of the batch: the byte that followed
# the same previous byte elsewhere in the batch gets a boost (a cross-row n-gram reader).
CROSS_ROW = """
class CrossRow(nn.Module):
    def __init__(self):
        super().__init__()
        self.table = nn.Embedding(256, 256)

    def forward(self, idx):
        logits = self.table(idx)
        if self.training:
            return logits
        rows, length = idx.shape
        counts = torch.zeros(rows, 256, 256)
        for r in range(rows):
            counts[r].index_put_((idx[r, :-1], idx[r, 1:]), torch.ones(length - 1), accumulate=True)
        others = counts.sum(0, keepdim=True) - counts  # every row but this one
        return logits + 0.5 * torch.log1p(others[torch.arange(rows)[:, None], idx])

def build_model(vocab_size, block_size, config):
    return CrossRow()
"""


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_look_ahead_at_a_single_position_is_rejected_on_every_seed(
    run, tiny_spec, make_submission, seed
):
    result = run(tiny_spec(), make_submission(ONE_POSITION_PEEK), seed=seed)
    assert result["status"] == "rejected", result["error"]
    assert "causality check failed" in result["error"]
    assert "position 17: only bytes after position 17 changed" in result["error"]
    assert result["val_bits_per_byte"] is None


def test_a_model_that_reads_other_rows_of_its_batch_is_rejected(run, tiny_spec, make_submission):
    result = run(tiny_spec(), make_submission(CROSS_ROW))
    assert result["status"] == "rejected", result["error"]
    assert "served among other rows and in another batch" in result["error"]


def test_an_honest_model_passes_with_every_cut_checked(run, tiny_spec, make_submission):
    spec = tiny_spec()
    result = run(
        spec, make_submission(BIGRAM + "\ndef build_model(v, b, c):\n    return Bigram()\n")
    )
    assert result["status"] == "ok", result["error"]
    causality = result["causality"]
    assert causality["cut_positions"] == spec.block_size - 1
    assert causality["spliced_rows"] == 2 * (spec.block_size - 1)
    assert causality["rows_per_pass"] % spec.eval_batch_size == 0
    assert causality["decoy_rows"] >= 2 * spec.eval_batch_size
    assert causality["max_abs_diff_nats"] <= causality["tolerance_nats"]


# -- 3. the harness counts; the submission only reports --------------------------------------

# Rewrites what the worker sends about itself: fewer parameters (to pass the early check),
# more steps and a bigger model than it has. The harness's own counts must win.
LIAR = """
import __main__

class Big(nn.Module):
    def __init__(self):
        super().__init__()
        self.table = nn.Embedding(256, 256)
        self.hidden = nn.Parameter(torch.zeros(5000))

    def forward(self, idx):
        return self.table(idx) + self.hidden[:1]

original_send_json = __main__.send_json

def lying_send_json(record):
    if record.get("type") == "summary":
        record = dict(record, steps=300, bytes=10**9, param_count=426)
    original_send_json(record)

__main__.send_json = lying_send_json
__main__.param_facts = lambda model: {"param_count": 426, "non_embedding_params": 426}

def build_model(vocab_size, block_size, config):
    return Big()
"""


def test_the_parameter_count_is_read_from_the_checkpoint(run, tiny_spec, make_submission):
    result = run(tiny_spec(max_params=60_000), make_submission(LIAR))
    assert result["status"] == "failed"
    assert "the trained checkpoint holds 70,536 parameters" in result["error"]
    assert "allows 60,000" in result["error"]


def test_steps_bytes_and_time_are_the_harness_own(run, tiny_spec, make_submission):
    spec = tiny_spec()
    result = run(spec, make_submission(LIAR))
    assert result["status"] == "ok", result["error"]
    assert result["param_count"] == 256 * 256 + 5000
    assert result["steps"] == spec.steps and result["bytes_trained"] == spec.byte_budget
    assert result["reported"]["steps"] == 300  # kept, and labelled as the submission's word
    assert "reported by the submission" in result["reported"]["note"]
    assert result["train_seconds"] > 0 and result["bytes_per_second"] > 0


# Asks for extra micro-batches behind the trainer's back: the budget still holds, counted by
# the harness, and the trainer itself simply runs out of data early.
GREEDY = """
import struct, __main__

class Greedy(nn.Module):
    def __init__(self):
        super().__init__()
        self.table = nn.Embedding(256, 256)

    def forward(self, idx):
        if self.training:
            stolen = __main__.request_batch(idx.shape[0] * (idx.shape[1] + 1))
            STOLEN.append(0 if stolen is None else len(stolen))
        return self.table(idx)

STOLEN = []

def build_model(vocab_size, block_size, config):
    return Greedy()
"""


def test_the_budget_is_what_the_harness_served(run, tiny_spec, make_submission):
    spec = tiny_spec(byte_budget=8 * 32 * 10)
    result = run(spec, make_submission(GREEDY))
    assert result["status"] == "ok", result["error"]
    assert result["bytes_trained"] == spec.byte_budget == result["byte_budget"]
    assert result["reported"]["steps"] < spec.steps  # it saw no more than the budget


# -- 4. the frame channel is bounded and strict ----------------------------------------------

FRAME_ATTACK = """
import struct

def frame(payload):
    fd = __import__("__main__").MSG_FD
    os.write(fd, b"J" + struct.pack("<Q", len(payload)) + payload)

def build_model(vocab_size, block_size, config):
    ATTACK()
    return nn.Linear(1, 1)
"""


@pytest.mark.parametrize(
    ("attack", "message"),
    [
        (
            'for _ in range(1_000_000): frame(b\'{"type": "progress", "loss": 1.0, "lr": 0.1}\')',
            "progress records after 0 training steps",
        ),
        ("frame(b'[' * 60000 + b']' * 60000)", "record of 120,000 bytes"),
        ("frame(b'[' * 30000 + b']' * 30000)", "not valid JSON (RecursionError"),
        ('frame(b\'{"type": "summary", "steps": \' + b"9" * 400 + b"}")', "finite numbers"),
        ('frame(b\'{"type": "progress", "loss": NaN, "lr": 0.1}\')', "NaN is not a number"),
        ('frame(b\'{"type": "progress", "loss": 1e999, "lr": 0.1}\')', "finite numbers"),
        ('frame(b\'{"type": "note", "text": {"a": [1, 2]}}\')', "flat JSON object"),
        ("frame(b'\\\\xff\\\\xfe')", "not valid JSON"),
    ],
    ids=["flood", "oversized", "nested", "huge-int", "nan", "infinite", "nested-object", "bytes"],
)
def test_malformed_frames_are_the_submission_fault(
    run, tiny_spec, make_submission, attack, message
):
    result = run(tiny_spec(), make_submission(FRAME_ATTACK.replace("ATTACK()", attack)))
    assert result["status"] == "failed", result
    assert message in result["error"], result["error"]
    assert result["fault"] == "submission"
    assert "engine error" not in result["error"]
    json.dumps(result, allow_nan=False)  # always strict JSON


# -- 5. trust by content, and nothing shadows the worker's imports ---------------------------


def test_only_the_reference_code_byte_for_byte_is_trusted(tmp_path):
    reference = (REFERENCE_DIR / "model.py").read_bytes()
    assert is_reference_code({"config.json": b"{}"})
    assert is_reference_code({"config.json": b"{}", "model.py": reference})
    assert not is_reference_code({"config.json": b"{}", "model.py": reference + b"\n"})
    assert not is_reference_code({"config.json": b"{}", "resource.py": b""})
    assert not is_reference_code({"config.json": b"{}", "notes.txt": b"hello"})


def test_a_folder_shadowing_the_standard_library_runs_sandboxed_and_is_not_imported(
    run, tiny_spec, tmp_path, monkeypatch
):
    marker = tmp_path / "shadowed"
    folder = tmp_path / "shadow"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(SMALL))
    shadow = f"open({str(marker)!r}, 'w').close()\nraise SystemExit('SHADOWED')\n"
    for name in ("resource", "secrets", "sitecustomize", "torch"):
        (folder / f"{name}.py").write_text(shadow)
    result = run(tiny_spec(), folder)
    assert result["status"] == "ok", result["error"]
    assert result["sandbox"] == "bubblewrap"
    assert "SHADOWED" not in result["log_tail"]
    assert not marker.exists()

    # Without bubblewrap the same folder is refused: it is not the reference code.
    from evaluation.engine.runner import run_benchmark

    monkeypatch.setenv("CRUCIBLE_BWRAP", "/nonexistent/bwrap")
    refused = run_benchmark(tiny_spec(), folder, seed=0, progress=None)
    assert refused["status"] == "failed" and "cannot sandbox" in refused["error"]
    assert refused["fault"] == "platform"
    assert not marker.exists()


def test_the_reference_alone_may_run_without_bubblewrap_and_says_so(
    tiny_spec, make_submission, monkeypatch, capfd
):
    from evaluation.engine.runner import run_benchmark

    monkeypatch.setenv("CRUCIBLE_BWRAP", "/nonexistent/bwrap")
    result = run_benchmark(tiny_spec(), make_submission(config=SMALL), seed=0, progress=None)
    assert result["status"] == "ok", result["error"]
    assert result["sandbox"].startswith("none: the platform's reference code, verified by sha256")
    assert "without one" in capfd.readouterr().err


# -- 6. concurrent runs each have their own process budget -----------------------------------

FORK_BOMB = """
def build_model(vocab_size, block_size, config):
    print("UID", os.getuid(), flush=True)
    while True:
        try:
            os.fork()
        except OSError:
            pass
"""


@pytest.mark.parametrize("cgroup", ["host default", "none"])
def test_four_runs_succeed_beside_a_fork_bomb(
    run, tiny_spec, make_submission, cgroup, tmp_path, monkeypatch
):
    # Generous caps for the honest runs: five runs share this machine's cores, and a test
    # must not depend on how busy the host is.
    # Without a cgroup the bomb cycles through the host's pids, and the kernel reuses a freed
    # namespace's inode number: both once made the clean-up after one pass kill another run's
    # pass (the probe, SIGKILL), which is why the engine now holds each namespace open and
    # never kills a reaped pid's group.
    if cgroup == "none":
        monkeypatch.setenv("CRUCIBLE_CGROUP", str(tmp_path / "no-such-cgroup"))
    honest_spec = tiny_spec(train_wall_s=300.0, startup_grace_s=300.0, eval_wall_s=300.0)
    bomb_spec = tiny_spec(train_wall_s=3.0, startup_grace_s=5.0)
    honest = [make_submission(config=SMALL) for _ in range(4)]
    bomb = make_submission(FORK_BOMB)
    with concurrent.futures.ThreadPoolExecutor(max_workers=5) as pool:
        bombing = pool.submit(run, bomb_spec, bomb)
        runs = [pool.submit(run, honest_spec, folder, seed) for seed, folder in enumerate(honest)]
        results = [future.result() for future in runs]
        bombed = bombing.result()
    for result in results:
        assert result["status"] == "ok", result["error"]
    assert bombed["status"] == "failed"
    assert "exceeded the wall-clock limit" in bombed["error"]
    bomb_uid = int(re.search(r"UID (\d+)", bombed["log_tail"]).group(1))
    assert bomb_uid not in uids_in_use()  # every process of the bomb is gone
    assert os.getuid() != bomb_uid


@pytest.mark.parametrize(
    ("block", "windows", "batch"), [(32, 32, 8), (128, 256, 32), (1024, 240, 16)]
)
def test_every_pass_layout_covers_every_cut_in_full_batches_of_strangers(block, windows, batch):
    """The layouts of the test, demo-cpu and gpu-small shapes: each scored window untouched
    once, each cut 0..T-2 spliced once, full batches, and no batch holding two rows made from
    the same or neighbouring windows (they share text a cross-row reader could use)."""
    import secrets

    from evaluation.engine import data
    from evaluation.engine.probe import pass_layout

    train, val = data.corpus_split("shakespeare")
    scored = data.eval_windows(val, block, windows)
    rows = pass_layout(
        scored, block=block, batch=batch, decoy_source=train, rng=secrets.SystemRandom()
    )
    assert len(rows) % batch == 0
    untouched = sorted(r.window for r in rows if r.window >= 0 and r.cut is None)
    assert untouched == list(range(windows))
    assert sorted(r.cut for r in rows if r.cut is not None) == list(range(block - 1))
    assert sum(r.window < 0 for r in rows) >= batch
    spliced = [r for r in rows if r.cut is not None]
    for row in spliced:  # the byte right after the cut always differs: a peek there shows
        assert scored[row.donor][row.cut + 1] != scored[row.window][row.cut + 1]
    alike = sum(scored[r.donor][r.cut] == scored[r.window][r.cut] for r in spliced)
    if windows >= 100:  # with enough windows to choose from, mostly from the same byte on
        assert alike > len(spliced) // 2
    # A window's splices come in ascending cut order, each batch after the last, and its
    # untouched row after all of them: nothing served earlier reveals the bytes after a cut.
    seen: dict[int, tuple[int, int]] = {}
    for index, row in enumerate(rows):
        if row.window < 0:
            continue
        rank = block if row.cut is None else row.cut
        if row.window in seen:
            last_batch, last_rank = seen[row.window]
            assert index // batch > last_batch and rank > last_rank
        seen[row.window] = (index // batch, rank)
    for start in range(0, len(rows), batch):
        keys = [
            k
            for r in rows[start : start + batch]
            if r.window >= 0
            for k in (r.window, r.window + 1)
        ]
        assert len(keys) == len(set(keys))
