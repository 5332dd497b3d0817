"""Throwaway Redis and PostgreSQL servers on loopback, from the binaries on this machine.

Used by pytest fixtures and by `.ci/run` (`python -m tests.support.servers postgres`).
PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
"""

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f}s")


def redis_missing() -> str | None:
    """Why a Redis server cannot be started here, or None."""
    return None if shutil.which("redis-server") else "redis-server is not installed"


def postgres_missing() -> str | None:
    """Why a PostgreSQL server cannot be started here, or None."""
    for binary in ("initdb", "pg_ctl"):
        if not shutil.which(binary):
            return f"PostgreSQL's {binary} is not on the PATH"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run PostgreSQL as"
    return None


class RedisServer:
    """A Redis server on a free loopback port that can be stopped and started again on the same
    port (the soak's broker restart). `persist`: an append-only file, as a production broker
    keeps, so that a restart loses no queued message."""

    def __init__(self, *, persist: bool = False) -> None:
        self.port = free_port()
        self.workdir = tempfile.mkdtemp(prefix="crucible-redis-")
        self.persist = persist
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        appendonly = ["--appendonly", "yes", "--appendfsync", "always"] if self.persist else []
        self.process = subprocess.Popen(
            [
                *["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""],
                *(appendonly or ["--appendonly", "no"]),
                *["--dir", self.workdir],
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


@contextlib.contextmanager
def redis_server(*, persist: bool = False) -> Iterator[str]:
    """A Redis server on a free loopback port; yields its URL."""
    server = RedisServer(persist=persist)
    try:
        server.start()
        yield server.url
    finally:
        server.close()


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class PostgresServer:
    """A fresh PostgreSQL cluster on a free loopback port with a `crucible` database, which can
    be stopped (`-m immediate`: as a crash) and started again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="crucible-pg-"))
        self.data = self.workdir / "data"
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            os.chown(self.workdir, entry.pw_uid, entry.pw_gid)
        self._run(["initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8"])

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/crucible"

    @staticmethod
    def _run(command: list[str]) -> None:
        subprocess.run(
            _as_postgres(command), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=200"
        )
        log = str(self.workdir / "log")
        self._run(["pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start"])

    def create_database(self) -> None:
        psql = ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]
        self._run([*psql, "-c", "CREATE DATABASE crucible"])

    def stop(self) -> None:
        subprocess.run(
            _as_postgres(["pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """A fresh PostgreSQL cluster on a free loopback port; yields a URL to its `crucible` db."""
    server = PostgresServer()
    try:
        server.start()
        server.create_database()
        yield server.url
    finally:
        server.close()


def main() -> None:
    """`python -m tests.support.servers postgres|redis -- COMMAND…`: run COMMAND with
    DATABASE_URL or CELERY_BROKER_URL pointing at a throwaway server."""
    kind, _sep, command = sys.argv[1], sys.argv[2], sys.argv[3:]
    server, variable = {
        "postgres": (postgres_server, "DATABASE_URL"),
        "redis": (redis_server, "CELERY_BROKER_URL"),
    }[kind]
    with server() as url:
        print(f"{variable}={url}", flush=True)
        code = subprocess.call(command, env={**os.environ, variable: url})
    sys.exit(code)


if __name__ == "__main__":
    main()
