"""A started sandbox, supervised from the harness: wall-clock watchdog, capped output capture,
and a kill that reaches every process the submission started (its whole PID namespace)."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

from .cgroups import PassCgroup


@dataclass(frozen=True)
class Limits:
    wall_s: float
    cpu_s: int
    file_size_bytes: int
    scratch_bytes: int
    max_output_bytes: int
    memory_bytes: int | None = None  # RLIMIT_AS, per process; None on CUDA
    open_files: int = 1024
    processes: int = 512  # counts threads too
    pass_memory_bytes: int | None = None  # all of the pass's memory, where a cgroup holds it


@dataclass
class Outcome:
    returncode: int | None
    killed_reason: str | None
    stdout_tail: str
    stderr_tail: str
    wall_s: float
    peak_memory_bytes: int | None = None  # the pass's cgroup's peak, when it had one

    def log_tail(self, limit: int = 4000) -> str:
        text = (self.stdout_tail + ("\n" if self.stdout_tail else "") + self.stderr_tail).strip()
        return text[-limit:]


@dataclass
class PidNamespace:
    """A sandbox's PID namespace, held open. The kernel gives the inode numbers of freed
    namespaces to new ones, so ``pid:[inode]`` names this namespace only while we hold it: let
    go too early, and the clean-up after one run would kill the next run's processes."""

    name: str
    fd: int

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


def _hold_pid_namespace(pid: int) -> PidNamespace | None:
    fd = os.open(f"/proc/{pid}/ns/pid", os.O_RDONLY)
    name = os.readlink(f"/proc/self/fd/{fd}")
    if name == os.readlink("/proc/self/ns/pid"):  # the child is gone and its pid reused here
        os.close(fd)
        return None
    return PidNamespace(name, fd)


def read_pid_namespace(info_r: int, timeout: float = 30.0) -> PidNamespace | None:
    """The sandbox's PID namespace, from bwrap's ``--info-fd`` JSON."""
    buffer = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([info_r], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                return None
            chunk = os.read(info_r, 4096)
            if not chunk:
                break
            buffer += chunk
            try:
                child = int(json.loads(buffer)["child-pid"])
            except (ValueError, KeyError, TypeError):
                continue
            return _hold_pid_namespace(child)
    except OSError:
        return None
    finally:
        os.close(info_r)
    return None


def _pids_in_namespace(pid_ns: str) -> list[int]:
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{name}/ns/pid") == pid_ns:
                    pids.append(int(name))
    return pids


def _kill_if_in_namespace(pid: int, pid_ns: str) -> None:
    """SIGKILL ``pid`` only if it is still a process of ``pid_ns``: between listing /proc and
    the kill the pid may have been freed and taken by another run's process. A pidfd pins the
    process; the namespace is checked after it is opened, so the signal reaches the checked one
    (or, if that one is already gone, nobody)."""
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        return
    try:
        if os.readlink(f"/proc/{pid}/ns/pid") == pid_ns:
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
    except OSError:
        pass
    finally:
        os.close(pidfd)


@dataclass
class _Capture:
    tail: bytearray = field(default_factory=bytearray)
    total: int = 0


class SandboxProcess:
    """A started sandbox: watchdog, capped output capture, kill of the whole group."""

    TAIL_BYTES = 16 * 1024

    def __init__(
        self,
        proc: subprocess.Popen[bytes],
        limits: Limits,
        on_stdout_line: Callable[[str], None] | None,
        pid_ns: PidNamespace | None = None,
        cgroup: PassCgroup | None = None,
    ) -> None:
        self.proc = proc
        self.pid_ns = pid_ns
        self.cgroup = cgroup
        self.uid: int | None = None
        self.limits = limits
        self.started = time.monotonic()
        self.killed_reason: str | None = None
        self._lock = threading.Lock()
        self._reaped = False
        self._done = threading.Event()
        self._captures = {"stdout": _Capture(), "stderr": _Capture()}
        self._threads = [
            threading.Thread(
                target=self._drain, args=(proc.stdout, "stdout", on_stdout_line), daemon=True
            ),
            threading.Thread(target=self._drain, args=(proc.stderr, "stderr", None), daemon=True),
            threading.Thread(target=self._watchdog, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def kill(self, reason: str) -> None:
        # Under the lock, and only while the sandbox's first process is unreaped: once reaped
        # its pid (and so its process group id) is free, and on a busy host (a fork bomb
        # beside us cycles through pid_max) the next sandbox may already hold it.
        with self._lock:
            if self._reaped:
                return
            if self.killed_reason is None and not self._exited():
                self.killed_reason = reason
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)

    def _exited(self) -> bool:
        """Whether the first process has exited, without reaping it (it keeps its pid)."""
        try:
            return (
                os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
            )
        except ChildProcessError:
            return True

    def _watchdog(self) -> None:
        if not self._done.wait(self.limits.wall_s):
            self.kill(f"exceeded the wall-clock limit of {self.limits.wall_s:.0f} s")

    def _drain(
        self, stream: IO[bytes] | None, name: str, on_line: Callable[[str], None] | None
    ) -> None:
        assert stream is not None
        capture = self._captures[name]
        pending = b""
        while True:
            chunk = stream.read1(65536)  # type: ignore[attr-defined]
            if not chunk:
                break
            capture.total += len(chunk)
            capture.tail += chunk
            if len(capture.tail) > self.TAIL_BYTES:
                del capture.tail[: len(capture.tail) - self.TAIL_BYTES]
            total = sum(c.total for c in self._captures.values())
            if total > self.limits.max_output_bytes:
                self.kill(
                    f"printed more than {self.limits.max_output_bytes // (1 << 20)} MiB to "
                    "stdout/stderr"
                )
            if on_line is not None:
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines[-5:]:
                    on_line(line.decode("utf-8", "replace")[:300])
                pending = pending[-4096:]

    def wait(self) -> Outcome:
        # Wait for the exit without reaping, so that the group id still names this run's group
        # when it is killed: in unsafe mode children may linger in it; in bwrap mode the PID
        # namespace goes with its init. Either way nothing of this run may outlive it.
        with contextlib.suppress(ChildProcessError):
            os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOWAIT)
        with self._lock:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self._reaped = True
        self._done.set()
        if self.pid_ns:  # the kernel tears the namespace down asynchronously: wait for it
            deadline = time.monotonic() + 30
            name = self.pid_ns.name
            while (left := _pids_in_namespace(name)) and time.monotonic() < deadline:
                for pid in left:
                    _kill_if_in_namespace(pid, name)
                time.sleep(0.05)
            self.pid_ns.close()
        for thread in self._threads[:2]:
            thread.join(timeout=10)
        returncode = self.proc.returncode
        peak = None
        if self.cgroup is not None:
            peak = self.cgroup.peak_memory_bytes()
            if self.cgroup.out_of_memory() and returncode and self.killed_reason is None:
                self.killed_reason = (
                    f"ran out of memory: its processes together may use "
                    f"{self.cgroup.memory_bytes / (1 << 30):.1f} GiB"
                )
            self.cgroup.remove()
        # A signal shows as a negative code, or as 128 + signal once bwrap relays it.
        sig = 0
        if returncode is not None and returncode < 0:
            sig = -returncode
        elif returncode is not None and 128 < returncode < 160:
            sig = returncode - 128
        if sig and self.killed_reason is None:
            if sig == signal.SIGXCPU:
                self.killed_reason = f"exceeded the CPU-time limit of {self.limits.cpu_s} s"
            elif sig == signal.SIGKILL:
                self.killed_reason = "was killed (SIGKILL), probably out of memory"
            else:
                self.killed_reason = f"was killed by signal {signal.Signals(sig).name}"

        def tail(name: str) -> str:
            return bytes(self._captures[name].tail).decode("utf-8", "replace")

        return Outcome(
            returncode=returncode,
            killed_reason=self.killed_reason,
            stdout_tail=tail("stdout"),
            stderr_tail=tail("stderr"),
            wall_s=time.monotonic() - self.started,
            peak_memory_bytes=peak,
        )
