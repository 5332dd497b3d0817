"""The sandbox's system-call filter, compiled with libseccomp (through ``pyseccomp``).

bubblewrap loads it (``--seccomp FD``) just before it starts the launcher, so it binds every
process of the submission and cannot be removed (filters only ever get stricter). Everything is
allowed except the calls that reach kernel state outside the pass, or attack the kernel:

- key rings (``add_key``, ``keyctl``, ``request_key``): a user's key ring outlives its processes;
- new namespaces (``unshare``, ``setns``, ``clone`` with a ``CLONE_NEW*`` flag; ``clone3``, whose
  flags a filter cannot read, answers ENOSYS so the C library falls back to ``clone``);
- debugging and tracing other processes (``ptrace``, ``process_vm_readv``/``writev``, ``kcmp``);
- ``bpf``, ``perf_event_open``, ``userfaultfd``, ``io_uring_*`` (much of the kernel's recent
  attack surface, and io_uring does its work outside this filter);
- every way to change the file system tree (``mount``, ``umount2``, ``pivot_root``, ``chroot``,
  the new mount API), and handle-based opens that can escape a bind mount;
- module loading, ``kexec``, ``reboot``, swap, accounting, ``syslog``, port I/O.

Calls of another architecture (32-bit or x32 entry points) kill the process: libseccomp's
default for a filter that names only the native architecture.
"""

from __future__ import annotations

import errno
import os
import tempfile

CLONE_NAMESPACE_FLAGS = (
    0x00020000  # CLONE_NEWNS
    | 0x02000000  # CLONE_NEWCGROUP
    | 0x04000000  # CLONE_NEWUTS
    | 0x08000000  # CLONE_NEWIPC
    | 0x10000000  # CLONE_NEWUSER
    | 0x20000000  # CLONE_NEWPID
    | 0x40000000  # CLONE_NEWNET
)

DENIED = (
    "add_key",
    "keyctl",
    "request_key",
    "unshare",
    "setns",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "mount_setattr",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "open_by_handle_at",
    "name_to_handle_at",
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "quotactl",
    "syslog",
    "iopl",
    "ioperm",
    "lookup_dcookie",
    "uselib",
    "vhangup",
)


class SeccompUnavailableError(RuntimeError):
    """libseccomp or its Python binding is missing."""


def filter_program() -> bytes:
    """The compiled BPF program (``struct sock_filter`` array) that bubblewrap loads."""
    try:
        import pyseccomp as seccomp
    except (ImportError, OSError) as exc:  # OSError: libseccomp.so.2 itself is missing
        raise SeccompUnavailableError(
            f"the seccomp filter needs libseccomp and pyseccomp ({exc})"
        ) from exc
    deny = seccomp.ERRNO(errno.EPERM)
    rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for name in DENIED:
        try:
            rules.add_rule(deny, name)
        except (RuntimeError, ValueError, OSError):
            continue  # a call this architecture does not have
    for flag in _single_bits(CLONE_NAMESPACE_FLAGS):
        rules.add_rule(deny, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    with tempfile.TemporaryFile() as handle:
        rules.export_bpf(handle)
        handle.seek(0)
        program = handle.read()
    if not program or len(program) % 8:
        raise SeccompUnavailableError("libseccomp produced no filter program")
    return program


def _single_bits(mask: int) -> list[int]:
    return [1 << bit for bit in range(mask.bit_length()) if mask >> bit & 1]


def program_fd(program: bytes) -> int:
    """A readable descriptor holding ``program``, for ``bwrap --seccomp FD`` (which reads it to
    the end). A pipe: the program is a few hundred bytes, far below a pipe's buffer."""
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, program)
    finally:
        os.close(write_end)
    return read_end
