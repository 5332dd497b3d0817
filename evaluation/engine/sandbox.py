"""Run untrusted submission code in a bubblewrap sandbox, with limits, killed as a whole.

Layers, outermost first:

1. ``bwrap`` (Debian's ``bubblewrap``) gives every pass new PID, network (abstract Unix sockets
   live there), IPC (SysV, POSIX message queues), UTS and cgroup namespaces and fresh tmpfs
   mounts at ``/tmp`` and ``/dev`` (``/dev/shm``): nothing of the kernel's is shared between
   passes. The mount namespace is built from scratch: the host's ``/usr`` (and the ``/lib*``
   links), the Python installation holding torch, read-only; the job folder read-only at
   ``/job``; ``/dev``, ``/proc`` of the new PID namespace; a size-capped tmpfs at ``/tmp`` as
   the only writable place (the work directory). Nothing else exists in there: not the
   platform's source, not the corpus, not ``/root``, ``/home`` or ``/etc`` beyond the dynamic
   loader's cache, a two-line passwd and an ``/etc/hosts`` naming the loopback. The network
   namespace holds only a loopback device, so no connection can leave. ``--die-with-parent``
   and the PID namespace mean that killing ``bwrap`` kills every process the submission
   started; ``--new-session`` stops terminal injection.
2. Privileges, one user per pass. Started as root (as on the GPU workers), ``bwrap`` drops
   every capability but the three needed to switch user, and a two-line launcher inside switches
   to a **fresh unprivileged uid drawn for this pass alone** (see :func:`fresh_uid`) before the
   submission's Python starts. Kernel state that is keyed by the user and outlives a process
   (key rings, the per-user process count, anything a later kernel adds) is therefore never
   shared between the training, scoring and probe passes, nor with any other run on the machine,
   and the process limit below counts this pass's processes only, so concurrent runs cannot
   starve each other. No file of the host is writable by ownership. ``bwrap`` sets
   ``no_new_privs``, so a setuid binary cannot bring root back. Started as an ordinary user,
   ``bwrap`` runs unprivileged in a user namespace instead (one uid for every pass: see the
   engine README's threat model for what that shares).
3. A seccomp filter (``seccomp.py``), loaded by ``bwrap``: no key rings, no new namespaces (a
   nested user namespace included), no ptrace, bpf, perf events, userfaultfd, io_uring or mounts.
4. Resource limits (``setrlimit``, inherited): CPU seconds, largest file, open files, processes
   (which stops a fork bomb), address space on CPU runs (not on CUDA, which maps huge
   virtual ranges), no core files.
5. The harness side: a clean environment (nothing of the platform's: no tokens, no database
   URL), a wall-clock watchdog that kills the process group, captured stdout/stderr with a cap
   (printing more kills the run), and only the named pipes the harness made in the job folder.

Without ``bwrap`` (or when its self-test fails) the engine refuses to run a submission unless it
is the platform's own reference code, verified file by file by sha256 (a config-only submission),
or ``unsafe_no_sandbox=True`` (CLI ``--unsafe-no-sandbox``, for a developer's own code): then
only layers 4 and 5 apply, in a private temporary work directory, a warning is printed, and
the result's ``sandbox`` field says so. The sandbox is never skipped silently.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from .cgroups import PassCgroup
from .host import SandboxUnavailableError, ancestors, fresh_uid, python_roots
from .seccomp import SeccompUnavailableError, filter_program, program_fd
from .supervise import Limits, SandboxProcess, read_pid_namespace

ENGINE_DIR = Path(__file__).resolve().parent
REPO_ROOT = ENGINE_DIR.parent.parent
NOBODY = 65534
INSIDE_ROOT = "/job"
# Two lines of trusted code run as pid 2 inside the sandbox: become the pass's uid, then exec.
# The process limit is set here, as the last root step: RLIMIT_NPROC counts every process of
# the real uid, and set while still root it would count all of the machine's root processes.
_DROP_PRIVILEGES = (
    "import os,sys,resource;n=int(sys.argv[1]);u=int(sys.argv[2]);"
    "resource.setrlimit(resource.RLIMIT_NPROC,(n,n));"
    "os.setgroups([]);os.setgid(u);os.setuid(u);"
    "os.execv(sys.argv[3],sys.argv[3:])"
)
_GPU_ENV = (
    "CUDA_VISIBLE_DEVICES",
    "LD_LIBRARY_PATH",
    "CUDA_HOME",
    "CUDA_PATH",
    "TRITON_PTXAS_PATH",
    "NVIDIA_VISIBLE_DEVICES",
    "NVIDIA_DRIVER_CAPABILITIES",
)
SANDBOX_TMP = "/tmp"  # noqa: S108 - a private, size-capped tmpfs inside the sandbox


def bwrap_path() -> str | None:
    return os.environ.get("CRUCIBLE_BWRAP") or shutil.which("bwrap")


class Sandbox:
    """Starts worker processes under bubblewrap (or, opted in, without it)."""

    def __init__(
        self, *, unsafe_no_sandbox: bool = False, reference_code: bool = False, gpu: bool = False
    ) -> None:
        self.gpu = gpu
        self.bwrap = bwrap_path()
        self.privileged = os.geteuid() == 0
        self.seccomp_program = b""
        problem = None if self.bwrap else "bubblewrap (bwrap) is not installed"
        if problem is None:
            try:
                self.seccomp_program = filter_program()
            except SeccompUnavailableError as exc:
                problem = str(exc)
        if problem is None:
            problem = self._self_test()
        probe = PassCgroup.create(memory_bytes=1 << 30, processes=16)
        self.cgroups = probe is not None
        if probe is not None:
            probe.remove()
        self.reference_only = False
        if problem is None:
            self.mode = "bwrap"
        elif reference_code and not unsafe_no_sandbox:
            self.mode = "none"
            self.reference_only = True
            print(
                f"WARNING: no sandbox here ({problem}); running the platform's reference code, "
                "verified by sha256, without one.",
                file=sys.stderr,
                flush=True,
            )
        elif unsafe_no_sandbox:
            self.mode = "none"
            print(
                "!" * 78 + f"\n!! WARNING: running submission code WITHOUT a sandbox ({problem}).\n"
                "!! It can read this machine's files and use its network. Only for trusted "
                "code.\n" + "!" * 78,
                file=sys.stderr,
                flush=True,
            )
        else:
            raise SandboxUnavailableError(
                f"cannot sandbox submission code: {problem}. Install bubblewrap, or pass "
                "--unsafe-no-sandbox to run trusted code without isolation."
            )
        self.unavailable_reason = problem

    def describe(self) -> str:
        """How submission code runs, for the result (``sandbox``) and the pages."""
        if self.mode == "bwrap":
            if self.cgroups:
                return "bubblewrap"
            return "bubblewrap (no cgroup here: memory and processes limited per process)"
        if self.reference_only:
            return (
                "none: the platform's reference code, verified by sha256 "
                f"({self.unavailable_reason})"
            )
        return "NONE (unsafe)"

    # -- command construction -------------------------------------------------------------

    def _bwrap_args(
        self, job_dir: Path, scratch_bytes: int, *, uid: int, seccomp_fd: int, processes: int
    ) -> list[str]:
        assert self.bwrap is not None
        args = [
            self.bwrap,
            "--seccomp",
            str(seccomp_fd),
            "--unshare-pid",
            "--unshare-net",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--hostname",
            "sandbox",
            "--die-with-parent",
            "--new-session",
            "--ro-bind",
            "/usr",
            "/usr",
        ]
        if self.privileged:
            args += ["--cap-drop", "ALL"]
            for cap in ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP"):
                args += ["--cap-add", cap]
        else:
            args += ["--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY)]
        for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            host = Path("/") / name
            if host.is_symlink():
                args += ["--symlink", os.readlink(host), str(host)]
            elif host.is_dir():
                args += ["--ro-bind", str(host), str(host)]
        args += ["--perms", "0755", "--dir", "/etc"]
        for etc in (
            "/etc/ld.so.cache",
            "/etc/ld.so.conf",
            "/etc/ld.so.conf.d",
            "/etc/alternatives",
        ):
            if os.path.exists(etc):
                args += ["--ro-bind", etc, etc]
        for name in ("passwd", "group", "nsswitch.conf", "hosts"):
            args += ["--ro-bind", str(job_dir / "etc" / name), f"/etc/{name}"]
        # The scratch tmpfs first: binds made after it stay visible even when the Python
        # environment itself lives under /tmp (a CI checkout there, say).
        args += ["--perms", "01777", "--size", str(scratch_bytes), "--tmpfs", SANDBOX_TMP]
        made: set[Path] = {Path(SANDBOX_TMP)}
        for root in python_roots():
            for parent in ancestors(root):
                if parent not in made:
                    args += ["--perms", "0755", "--dir", str(parent)]
                    made.add(parent)
            args += ["--ro-bind", str(root), str(root)]
        args += ["--dev", "/dev", "--proc", "/proc"]
        # POSIX shared memory and semaphores (multiprocessing, DataLoader workers): a private,
        # size-capped tmpfs of this pass's own.
        shm = "/dev/shm"  # noqa: S108 - inside the sandbox
        args += ["--perms", "01777", "--size", str(scratch_bytes), "--tmpfs", shm]
        if self.gpu:
            for node in sorted(Path("/dev").glob("nvidia*")):
                args += ["--dev-bind", str(node), str(node)]
            if Path("/dev/dri").exists():
                args += ["--dev-bind", "/dev/dri", "/dev/dri"]
            args += ["--ro-bind", "/sys", "/sys"]
        args += ["--ro-bind", str(job_dir), INSIDE_ROOT]
        args += ["--chdir", SANDBOX_TMP, "--"]
        if self.privileged:
            args += [sys.executable, "-I", "-c", _DROP_PRIVILEGES, str(processes), str(uid)]
        return args

    def _self_test(self) -> str | None:
        """None when bwrap can build our sandbox here, else what went wrong."""
        import tempfile

        with tempfile.TemporaryDirectory(prefix="crucible-probe-") as tmp:
            job_dir = Path(tmp)
            uid = fresh_uid() if self.privileged else NOBODY
            self._write_etc(job_dir, uid)
            seccomp_fd = program_fd(self.seccomp_program)
            try:
                argv = [
                    *self._bwrap_args(
                        job_dir, 1 << 20, uid=uid, seccomp_fd=seccomp_fd, processes=64
                    ),
                    sys.executable,
                    "-I",
                    "-c",
                    "0",
                ]
                done = subprocess.run(
                    argv,
                    capture_output=True,
                    timeout=60,
                    env=self._env(job_dir, 1),
                    preexec_fn=lambda: os.umask(0o022),
                    pass_fds=(seccomp_fd,),
                )
            except SandboxUnavailableError as exc:
                return str(exc)
            except (OSError, subprocess.TimeoutExpired) as exc:
                return f"bwrap failed to start: {exc}"
            finally:
                os.close(seccomp_fd)
            if done.returncode != 0:
                return (
                    "bwrap cannot create the sandbox here: "
                    + done.stderr.decode("utf-8", "replace").strip()[-500:]
                )
        return None

    @staticmethod
    def _write_etc(job_dir: Path, uid: int) -> None:
        etc = job_dir / "etc"
        etc.mkdir(exist_ok=True)
        (etc / "passwd").write_text(
            f"root:x:0:0:root:/root:/bin/sh\nsandbox:x:{uid}:{uid}:sandbox:/tmp:/bin/false\n"
        )
        (etc / "group").write_text(f"root:x:0:\nsandbox:x:{uid}:\n")
        (etc / "nsswitch.conf").write_text("passwd: files\ngroup: files\nhosts: files\n")
        # The loopback and the sandbox's own name (``--hostname``): a multi-process run's
        # rendezvous resolves both, and waits forever for a name it cannot.
        (etc / "hosts").write_text("127.0.0.1 localhost sandbox\n::1 localhost\n")
        for path in (etc, *etc.iterdir()):
            path.chmod(0o755 if path.is_dir() else 0o644)

    def _env(self, scratch: Path | str, threads: int) -> dict[str, str]:
        """A clean environment: nothing of the platform's is passed through."""
        tmp = str(scratch)
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": tmp,
            "USER": "sandbox",  # getpass.getuser(), used by torch.compile's cache
            "LOGNAME": "sandbox",
            "TMPDIR": tmp,
            "LANG": "C.UTF-8",
            "PYTHONHASHSEED": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONNOUSERSITE": "1",
            "PYTHONUNBUFFERED": "1",
            # torchrun starts its ranks without -I: no folder of the job on sys.path there either
            "PYTHONSAFEPATH": "1",
            "OMP_NUM_THREADS": str(threads),
            "MKL_NUM_THREADS": str(threads),
            "TORCHINDUCTOR_CACHE_DIR": f"{tmp}/inductor",
            "TRITON_CACHE_DIR": f"{tmp}/triton",
        }
        if self.gpu:  # where the driver and toolkit live: needed, and no secrets
            for name in _GPU_ENV:
                if name in os.environ:
                    env[name] = os.environ[name]
        return env

    # -- running --------------------------------------------------------------------------

    def start(
        self,
        *,
        job_dir: Path,
        scratch_dir: Path,
        worker_args: list[str],
        limits: Limits,
        threads: int,
        launcher: tuple[str, ...] = (),
        on_stdout_line: Callable[[str], None] | None = None,
    ) -> SandboxProcess:
        """Start ``python [launcher…] job_dir/worker.py *worker_args`` sandboxed, as a uid of
        its own (``launcher``: ``-m torch.distributed.run …`` for several ranks). ``job_dir``
        must contain ``worker.py``; in the sandbox it is ``/job`` (read-only); the worker talks
        to the harness through named pipes there."""
        pass_fds: tuple[int, ...] = ()
        uid = fresh_uid() if self.privileged and self.mode == "bwrap" else NOBODY
        self._write_etc(job_dir, uid)
        seccomp_fd = -1
        if self.mode == "bwrap":
            root = INSIDE_ROOT
            seccomp_fd = program_fd(self.seccomp_program)
            pass_fds = (*pass_fds, seccomp_fd)
            argv = self._bwrap_args(
                job_dir,
                limits.scratch_bytes,
                uid=uid,
                seccomp_fd=seccomp_fd,
                processes=limits.processes,
            )
            env = self._env(SANDBOX_TMP, threads)
            cwd = None
        else:
            root = str(job_dir)
            argv = []
            env = self._env(scratch_dir, threads)
            cwd = str(scratch_dir)
        argv += [sys.executable, "-I", *launcher, f"{root}/worker.py", *worker_args]
        argv = [a.replace("{ROOT}", root) for a in argv]

        privileged = self.privileged

        cgroup = None
        if self.cgroups and limits.pass_memory_bytes:
            cgroup = PassCgroup.create(
                memory_bytes=limits.pass_memory_bytes, processes=limits.processes
            )

        def preexec() -> None:
            if cgroup is not None:  # before anything of the pass exists: all of it is charged
                cgroup.enter()
            os.umask(0o022)
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 5))
            resource.setrlimit(
                resource.RLIMIT_FSIZE, (limits.file_size_bytes, limits.file_size_bytes)
            )
            resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
            if not privileged:  # as root, the launcher sets it (see _DROP_PRIVILEGES)
                resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
            if limits.memory_bytes:
                resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))

        info_r = info_w = -1
        if self.mode == "bwrap":  # bwrap reports its child's pid: we track its PID namespace
            info_r, info_w = os.pipe()
            argv[1:1] = ["--info-fd", str(info_w)]
            pass_fds = (*pass_fds, info_w)
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                cwd=cwd,
                pass_fds=pass_fds,
                start_new_session=True,
                preexec_fn=preexec,
            )
        except BaseException:
            if cgroup is not None:
                cgroup.remove()
            raise
        finally:
            for fd in (info_w, seccomp_fd):
                if fd >= 0:
                    os.close(fd)
        pid_ns = read_pid_namespace(info_r) if info_r >= 0 else None
        process = SandboxProcess(proc, limits, on_stdout_line, pid_ns, cgroup)
        process.uid = uid
        return process
