"""A worker's cache of benchmark data, fetched from the platform by sha256.

Laid out as the platform's data store (`sha256/ab/abcd…`), so the engine reads it the same way.
Each file is checked against its digest and size before it takes its name; the least recently
used files go when the cache would hold more than its size bound. One lock per cache folder, so
two workers on one machine can share it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from evaluation.agent.client import Sink
from evaluation.engine.folders import stored_path


class DataFetchError(RuntimeError):
    """A benchmark file could not be fetched or did not match its digest."""


@dataclass
class DataCache:
    root: Path
    max_bytes: int
    hits: int = 0
    misses: int = 0
    fetched_bytes: int = 0
    fetch_seconds: float = 0.0
    _lock_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock_path = self.root / ".lock"

    def ensure(self, definition: dict[str, Any], fetch: Callable[[str, Sink], None]) -> Path:
        """Every data file of a benchmark's definition present and checked; returns the folder
        to hand the engine as its data store."""
        wanted = {
            item["sha256"]: int(item["size"])
            for files in (definition.get("data") or {}).values()
            for item in files
        }
        if sum(wanted.values()) > self.max_bytes:
            raise DataFetchError(
                f"the benchmark's data ({sum(wanted.values()):,} bytes) is larger than this "
                f"worker's cache ({self.max_bytes:,} bytes, CRUCIBLE_WORKER_CACHE_BYTES)"
            )
        with self._locked():
            for digest, size in sorted(wanted.items()):
                self._ensure_one(digest, size, fetch)
            self._evict(keep=set(wanted))
        return self.root

    def _ensure_one(self, digest: str, size: int, fetch: Callable[[str, Sink], None]) -> None:
        target = stored_path(self.root, digest)
        if target.is_file() and target.stat().st_size == size:
            os.utime(target)  # recently used
            self.hits += 1
            return
        self.misses += 1
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        started = time.monotonic()
        try:
            with os.fdopen(handle, "wb") as out:
                checked = _Checked(out, limit=size)
                fetch(digest, checked)
                out.flush()
                os.fsync(out.fileno())
            if checked.size != size or checked.digest.hexdigest() != digest:
                raise DataFetchError(
                    f"data file {digest[:12]}… arrived with {checked.size:,} bytes and another "
                    f"digest than the benchmark names ({size:,} bytes): not used"
                )
            os.chmod(temporary, 0o600)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        self.fetched_bytes += size
        self.fetch_seconds += time.monotonic() - started

    def _evict(self, *, keep: set[str]) -> None:
        files = [path for path in (self.root / "sha256").glob("*/*") if path.is_file()]
        total = sum(path.stat().st_size for path in files)
        for path in sorted(files, key=lambda p: p.stat().st_mtime):
            if total <= self.max_bytes:
                break
            if path.name in keep:
                continue
            total -= path.stat().st_size
            path.unlink(missing_ok=True)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock_path.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


class _Checked:
    """A file that hashes and counts what is written to it."""

    def __init__(self, out: IO[bytes], *, limit: int) -> None:
        self._out = out
        self._limit = limit
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes, /) -> int:
        self.size += len(chunk)
        if self.size > self._limit:
            raise DataFetchError(f"a data file arrived larger than its {self._limit:,} bytes")
        self.digest.update(chunk)
        return self._out.write(chunk)
