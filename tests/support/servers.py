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


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A Redis server on a free loopback port; yields its URL."""
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="crucible-redis-")
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """A fresh PostgreSQL cluster on a free loopback port; yields a URL to its `crucible` db."""
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="crucible-pg-"))
    data = workdir / "data"
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(workdir, entry.pw_uid, entry.pw_gid)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "check": True}
    subprocess.run(
        _as_postgres(["initdb", "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8"]),
        **quiet,  # type: ignore[call-overload]
    )
    options = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_postgres(
            ["pg_ctl", "-D", str(data), "-o", options, "-l", str(workdir / "log"), "-w", "start"]
        ),
        **quiet,  # type: ignore[call-overload]
    )
    try:
        subprocess.run(
            _as_postgres(
                [
                    "psql",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "-U",
                    "postgres",
                    "-c",
                    "CREATE DATABASE crucible",
                ]
            ),
            **quiet,  # type: ignore[call-overload]
        )
        yield f"postgres://postgres@127.0.0.1:{port}/crucible"
    finally:
        subprocess.run(
            _as_postgres(["pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop"]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        shutil.rmtree(workdir, ignore_errors=True)


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
