"""Real platform processes for integration tests and benchmarks: gunicorn and a Celery worker."""

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
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


def _stop(process: subprocess.Popen[bytes], log: Path) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return log.read_text(errors="replace")[-4000:]


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
    env: dict[str, str], *, queues: str = "default", concurrency: int = 2
) -> Iterator[subprocess.Popen[bytes]]:
    """A Celery worker process consuming `queues`; stopped (warm shutdown) on exit."""
    log = Path(tempfile.mkstemp(prefix="crucible-worker-", suffix=".log")[1])
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(BIN / "celery"),
                "-A",
                "config.celery_app",
                "worker",
                "-Q",
                queues,
                "--concurrency",
                str(concurrency),
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        output = _stop(process, log)
        log.unlink(missing_ok=True)
        if "Traceback" in output and "WorkerLostError" not in output:
            print(output, file=sys.stderr)
