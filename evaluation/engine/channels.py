"""The named pipes between the harness and a sandboxed pass, one pair per process, and how a
pass with several processes is launched (``torchrun``)."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

from .supervise import SandboxProcess


class Channels:
    """The FIFOs of one pass's processes (``rank{r}.data`` in, ``rank{r}.msg`` out, in the job
    folder). Named pipes, not inherited descriptors: ``torchrun`` starts its ranks with only the
    standard three. The harness opens both ends' partners before the pass starts, so the worker's
    opens never block: a writer and a reader it never reads from for each data FIFO (writes never
    fail before the worker opens it), and a reader and a writer for each message FIFO (reads wait
    for the worker instead of ending at once). Both extra ends close once the pass is gone, which
    ends the frames (end of file) and any write still waiting (a broken pipe)."""

    def __init__(self, job_dir: Path, ranks: int) -> None:
        self.data: list[int] = []
        self.msg: list[int] = []
        self._held: list[int] = []
        self._lock = threading.Lock()
        try:
            for rank in range(ranks):
                data_path, msg_path = job_dir / f"rank{rank}.data", job_dir / f"rank{rank}.msg"
                os.mkfifo(data_path, 0o644)
                os.mkfifo(msg_path, 0o622)
                # Whatever the umask: the pass's uid reads the one and writes the other (in a
                # folder only root reaches outside the sandbox).
                os.chmod(data_path, 0o644)
                os.chmod(msg_path, 0o622)  # noqa: S103
                self._held.append(os.open(data_path, os.O_RDONLY | os.O_NONBLOCK))
                self.data.append(os.open(data_path, os.O_WRONLY))
                self.msg.append(os.open(msg_path, os.O_RDONLY | os.O_NONBLOCK))
                os.set_blocking(self.msg[-1], True)
                self._held.append(os.open(msg_path, os.O_WRONLY))
        except BaseException:
            self.close()
            raise

    def release(self) -> None:
        """The pass is gone: let go of the harness's extra ends."""
        with self._lock:  # once: a descriptor closed twice may be another thread's by then
            held, self._held = self._held, []
        for fd in held:
            with contextlib.suppress(OSError):
                os.close(fd)

    def release_on_exit(self, process: SandboxProcess) -> None:
        """Release once the pass's first process has exited (not reaped: the harness reaps it
        in :meth:`SandboxProcess.wait`)."""

        def watch() -> None:
            with contextlib.suppress(ChildProcessError):
                os.waitid(os.P_PID, process.proc.pid, os.WEXITED | os.WNOWAIT)
            self.release()

        threading.Thread(target=watch, daemon=True).start()

    def close(self) -> None:
        """The pass never started: close everything."""
        self.release()
        for fd in [*self.data, *self.msg]:
            os.close(fd)


def launcher(ranks: int) -> tuple[str, ...]:
    """How the sandbox's Python starts the worker: itself, or ``torchrun --standalone`` with one
    process per rank (its rendezvous stays on the sandbox's own loopback)."""
    if ranks == 1:
        return ()
    return (
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={ranks}",
        "--max-restarts=0",
    )
