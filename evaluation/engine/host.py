"""What the sandbox is built from on this host: a uid of its own for each pass, and the folders
holding the Python installation (with torch) that the sandbox mounts read-only."""

from __future__ import annotations

import contextlib
import os
import secrets
import site
import sys
from pathlib import Path

ENGINE_DIR = Path(__file__).resolve().parent


class SandboxUnavailableError(RuntimeError):
    """No usable isolation and the caller did not opt out of it."""


# Per-pass uids are drawn from here: far above any distribution's system and login users
# (systemd keeps 0-60513 and 524288-1879048191 for containers; this is 2^30-2^31), so they
# belong to nobody else on the host.
PASS_UIDS = (1 << 30, (1 << 31) - 2)


def fresh_uid() -> int:
    """A uid no process on this machine has: a secret random draw, checked against ``/proc``
    (each ``/proc/PID`` is owned by its process's user)."""
    while True:
        uid = PASS_UIDS[0] + secrets.randbelow(PASS_UIDS[1] - PASS_UIDS[0])
        in_use = False
        for name in os.listdir("/proc"):
            if name.isdigit():
                with contextlib.suppress(OSError):
                    if os.stat(f"/proc/{name}").st_uid == uid:
                        in_use = True
                        break
        if not in_use:
            return uid


def ancestors(path: Path) -> list[Path]:
    return [p for p in reversed(path.parents) if str(p) != "/"]


def python_roots() -> list[Path]:
    """Folders the sandbox needs to run this Python with torch, outside /usr."""
    import torch

    candidates = {
        Path(sys.prefix),
        Path(sys.base_prefix),
        Path(sys.exec_prefix),
        Path(os.path.realpath(sys.executable)).parent.parent,
        Path(torch.__file__).resolve().parent.parent,
    }
    for extra in site.getsitepackages():
        candidates.add(Path(extra))
    roots: list[Path] = []
    for path in sorted(candidates, key=lambda p: len(p.parts)):
        path = path.resolve() if path.exists() else path
        if not path.exists() or path == Path("/usr") or Path("/usr") in path.parents:
            continue
        if any(root == path or root in path.parents for root in roots):
            continue
        if path == ENGINE_DIR or path in ENGINE_DIR.parents:
            raise SandboxUnavailableError(
                f"the Python environment at {path} contains the platform's source; "
                "install the engine's Python outside the repository checkout"
            )
        roots.append(path)
    # Also the unresolved venv path, so the interpreter symlinks inside it resolve.
    for path in (Path(sys.prefix), Path(os.path.dirname(sys.executable)).parent):
        covered = any(r == path or r in path.parents for r in roots)
        under_usr = path == Path("/usr") or Path("/usr") in path.parents
        if path.exists() and not covered and not under_usr:
            roots.append(path)
    return roots
