"""The platform's data store: benchmark files kept by their sha256 under `CRUCIBLE_DATA_DIR`.

Content-addressed, so a file imported twice (or shared by two benchmarks) is stored once, a
stored file is checked by its name, and a new version of a benchmark's data never overwrites
the old one. The folder is private to the platform: validation and test text are read by the
engine's harness only (`evaluation/engine/folders.py`, `data.py`), never served publicly.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from django.conf import settings

from evaluation.engine.folders import stored_path


class DataStoreError(RuntimeError):
    pass


def data_dir() -> Path:
    return Path(settings.CRUCIBLE_DATA_DIR)


def datastore_put(source: Path, digest: str) -> Path:
    """Store ``source`` (whose sha256 is ``digest``) unless it is there already; the copy is
    checked before it takes its name, so a half-written file never looks stored."""
    target = stored_path(data_dir(), digest)
    if target.is_file() and target.stat().st_size == source.stat().st_size:
        return target
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    try:
        with os.fdopen(handle, "wb") as out, source.open("rb") as src:
            check = hashlib.sha256()
            while chunk := src.read(1 << 20):
                check.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if check.hexdigest() != digest:
            raise DataStoreError(f"{source} changed while it was being stored; import it again")
        os.chmod(temporary, 0o600)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
