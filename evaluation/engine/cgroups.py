"""A control group per pass: memory and process count for all of the pass's processes together.

``setrlimit`` limits each process alone: a pass that starts three children may use three times
the address-space limit, and its tmpfs mounts (``/tmp``, ``/dev/shm``) live in memory outside
any process. A cgroup charges all of it (page cache and tmpfs pages included) to the pass, so a
pass cannot take the memory that concurrent runs on the machine need. Where the kernel kills a
process for it, the harness says so.

Where: cgroup v2 under ``CRUCIBLE_CGROUP`` (a directory delegated to the engine's user, with
``memory`` and ``pids`` in its ``cgroup.subtree_control``; systemd's ``Delegate=yes`` gives one),
otherwise cgroup v1's ``memory`` and ``pids`` hierarchies at ``/sys/fs/cgroup`` when they are
writable (as root on most hosts). Elsewhere passes run without one, and the result's ``sandbox``
field says so.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

V1_ROOT = Path("/sys/fs/cgroup")


@dataclass
class PassCgroup:
    """The cgroup directories of one pass (one for v2; memory and pids for v1)."""

    memory_dir: Path
    pids_dir: Path
    v2: bool
    memory_bytes: int

    @classmethod
    def create(cls, *, memory_bytes: int, processes: int) -> PassCgroup | None:
        """A new cgroup with these limits, or None where this host gives the engine none."""
        name = f"crucible-pass-{secrets.token_hex(8)}"
        delegated = os.environ.get("CRUCIBLE_CGROUP")
        if delegated:
            directory = Path(delegated) / name
            group = cls(directory, directory, True, memory_bytes)
        else:
            memory = V1_ROOT / "memory" / "crucible" / name
            group = cls(memory, V1_ROOT / "pids" / "crucible" / name, False, memory_bytes)
        try:
            group.memory_dir.mkdir(parents=not group.v2)
            if group.v2:
                (group.memory_dir / "memory.max").write_text(str(memory_bytes))
                with contextlib.suppress(FileNotFoundError):  # no swap accounting: no swap
                    (group.memory_dir / "memory.swap.max").write_text("0")
            else:
                group.pids_dir.mkdir(parents=True)
                (group.memory_dir / "memory.limit_in_bytes").write_text(str(memory_bytes))
            (group.pids_dir / "pids.max").write_text(str(processes))
        except OSError:
            group.remove()
            return None
        return group

    def enter(self) -> None:
        """Move the calling process in (from the child, before it execs the sandbox)."""
        pid = str(os.getpid())
        for directory in {self.memory_dir, self.pids_dir}:
            (directory / "cgroup.procs").write_text(pid)

    def peak_memory_bytes(self) -> int | None:
        name = "memory.peak" if self.v2 else "memory.max_usage_in_bytes"
        try:
            return int((self.memory_dir / name).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def out_of_memory(self) -> bool:
        """Whether the kernel killed a process of the pass for the memory limit."""
        name = "memory.events" if self.v2 else "memory.oom_control"
        try:
            for line in (self.memory_dir / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill" and int(value) > 0:
                    return True
        except (OSError, ValueError):
            return False
        return False

    def remove(self) -> None:
        """Remove the (empty) cgroup; the kernel frees it once its last process is reaped."""
        for directory in {self.memory_dir, self.pids_dir}:
            for _attempt in range(50):
                try:
                    directory.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
