"""Real platform processes for integration tests and benchmarks: gunicorn and a Celery worker."""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from tests.support.servers import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def platform_env(**overrides: str) -> dict[str, str]:
    """The environment of a platform process: this one's, plus the given settings."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.local"  # not the test settings
    env.update(overrides)
    return env


def _spawn(
    command: list[str], env: dict[str, str], *, prefix: str
) -> tuple[subprocess.Popen[bytes], Path]:
    """Start `command` in the repository, its output in a log file of its own."""
    log = Path(tempfile.mkstemp(prefix=prefix, suffix=".log")[1])
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    return process, log


def _stop(process: subprocess.Popen[bytes], log: Path) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return log.read_text(errors="replace")[-4000:]


class Service:
    """A long-running platform process the soak can kill (`kill -9`), signal and start again,
    as a process supervisor would; its output goes to a log file of its own."""

    def __init__(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.name, self.command, self.env = name, command, env
        self.process: subprocess.Popen[bytes] | None = None
        self.log = Path(tempfile.mkstemp(prefix=f"crucible-{name}-", suffix=".log")[1])
        self.supervised = True  # a supervisor may start it again if it exits on its own
        self.unplanned_exits: list[float] = []
        self.lock = threading.Lock()  # the supervisor and a fault never act at once

    def revive(self) -> bool:
        """What a process supervisor (systemd's `Restart=always`) does: start the process
        again if it exited on its own; whether it had."""
        with self.lock:
            if not self.supervised or self.process is None or self.process.poll() is None:
                return False
            self.unplanned_exits.append(time.time())
            self.start()
            return True

    def restart(self, down: float) -> None:
        """`kill -9`, `down` seconds without it, then start it again (a fault)."""
        with self.lock:
            self.supervised = False
            self.kill()
        time.sleep(down)
        with self.lock:
            self.start()
            self.supervised = True

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.command, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )

    def kill(self) -> None:
        """`kill -9` of the process and of everything it started (its process group is its
        own only where it made one, so children are found through /proc)."""
        if self.process is None or self.process.poll() is not None:
            return
        # The parent first, so that it cannot start new children once they are gone.
        for pid in [self.process.pid, *_descendants(self.process.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait()

    def signal(self, number: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(number)

    def stop(self) -> str:
        """Warm shutdown (SIGTERM, then SIGKILL of it and its children after 20 s); the log's
        tail. No supervisor starts it again."""
        with self.lock:
            self.supervised = False
        if self.process is None:
            return ""
        children = _descendants(self.process.pid)
        tail = _stop(self.process, self.log)
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return tail


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


@contextlib.contextmanager
def gunicorn(env: dict[str, str], *, workers: int = 2, threads: int = 1) -> Iterator[str]:
    """gunicorn serving the site on a free loopback port; yields the base URL."""
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="crucible-gunicorn-", suffix=".log")[1])
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        try:
            wait_for_port(port, timeout=60)
        except TimeoutError:
            raise RuntimeError(f"gunicorn did not start:\n{_stop(process, log)}") from None
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(process, log)
        log.unlink(missing_ok=True)


@contextlib.contextmanager
def celery_worker(
    env: dict[str, str], *, queues: str = "default", concurrency: int = 2, pool: str = "prefork"
) -> Iterator[subprocess.Popen[bytes]]:
    """A Celery worker process consuming `queues`; stopped (warm shutdown) on exit. `pool`
    "solo" runs tasks in the process itself."""
    process, log = _spawn(
        [
            str(BIN / "celery"),
            "-A",
            "config.celery_app",
            "worker",
            "-Q",
            queues,
            "--concurrency",
            str(concurrency),
            "--pool",
            pool,
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        env,
        prefix="crucible-worker-",
    )
    try:
        yield process
    finally:
        output = _stop(process, log)
        log.unlink(missing_ok=True)
        if "Traceback" in output and "WorkerLostError" not in output:
            print(output, file=sys.stderr)


@contextlib.contextmanager
def evaluation_worker(
    platform_url: str,
    broker_url: str,
    *,
    queues: tuple[str, ...] = ("cpu",),
    key: str = "",
    var_dir: str = "",
) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m evaluation.agent` as a worker host runs it: a fresh worker token (unless
    given), the platform's URL and the broker's, and nothing else of the platform's in its
    environment (no database, no secret key, no GitHub credentials). `var_dir`: where the
    embedded file-system broker keeps its messages, when that is the broker."""
    if not key:
        from evaluation.services import worker_create

        _worker, key = worker_create(name=f"w-{os.getpid()}-{free_port()}", queues=list(queues))
    cache = tempfile.mkdtemp(prefix="crucible-worker-cache-")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "PLATFORM_URL": platform_url,
        "CRUCIBLE_WORKER_TOKEN": key,
        "CELERY_BROKER_URL": broker_url,
        "CRUCIBLE_WORKER_CACHE": cache,
    }
    if var_dir:
        env["CRUCIBLE_VAR_DIR"] = var_dir
    process, log = _spawn([sys.executable, "-m", "evaluation.agent"], env, prefix="crucible-agent-")
    try:
        yield process
    finally:
        output = _stop(process, log)
        log.unlink(missing_ok=True)
        shutil.rmtree(cache, ignore_errors=True)
        print(output, file=sys.stderr)  # pytest shows it when the test fails


def fresh_cache_url(redis_url: str) -> str:
    """A cache for one test's platform processes, emptied first: database 1 of the test Redis
    (the broker keeps database 0), so that no sign-in failure or lock-out counted by an earlier
    test on 127.0.0.1 reaches this one."""
    import redis

    url = redis_url.rsplit("/", 1)[0] + "/1"
    redis.Redis.from_url(url).flushdb()
    return url
