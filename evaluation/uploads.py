"""A submission folder uploaded as a `.zip` or `.tar.gz`: checked as hostile (the rules of
`evaluation.archive`, which extracts it), and packed again by the platform, one top folder
`submission/`, for the data store. The folder may sit at the archive's root or in its one top
folder."""

import io
import json
import stat
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from evaluation.archive import Limits, UnsafeArchive, extract_folder, safe_relative
from evaluation.engine.specs import MAX_SUBMISSION_BYTES, MAX_SUBMISSION_FILES

LIMITS = Limits(max_bytes=MAX_SUBMISSION_BYTES, max_files=MAX_SUBMISSION_FILES)
MAX_UPLOAD_BYTES = MAX_SUBMISSION_BYTES  # the archive itself, compressed or not
TOP = "submission"


def _wrapped_tar(data: bytes) -> bytes:
    """The uploaded archive as a tarball whose one top folder is `upload/`: a zip's members
    read under the caps (declared sizes first, then what it really holds), a tar's renamed."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as packed:
        if zipfile.is_zipfile(io.BytesIO(data)):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                members = [m for m in archive.infolist() if not m.is_dir()]
                if not members:
                    raise UnsafeArchive("the archive holds no files")
                if len(members) > LIMITS.max_files:
                    raise UnsafeArchive(f"more than {LIMITS.max_files} files in the archive")
                if sum(m.file_size for m in members) > LIMITS.max_bytes:
                    raise UnsafeArchive(f"the archive is larger than {LIMITS.max_bytes:,} bytes")
                for member in members:
                    path = safe_relative(member.filename)
                    if stat.S_ISLNK(member.external_attr >> 16):
                        raise UnsafeArchive(f"{path!r}: links are not allowed in an upload")
                    if member.flag_bits & 0x1:
                        raise UnsafeArchive(f"{path!r}: encrypted files are not allowed")
                    with archive.open(member) as source:
                        content = source.read(LIMITS.max_bytes + 1)
                    info = tarfile.TarInfo(f"upload/{path}")
                    info.size = len(content)
                    packed.addfile(info, io.BytesIO(content))
        else:
            try:
                original = tarfile.open(fileobj=io.BytesIO(data), mode="r:*")  # noqa: SIM115
            except (tarfile.TarError, EOFError, OSError) as exc:
                raise UnsafeArchive("not a .zip or .tar.gz archive") from exc
            with original:
                if not any(entry.isfile() for entry in original.getmembers()):
                    raise UnsafeArchive("the archive holds no files")
                for entry in original.getmembers():
                    renamed = entry.replace(name=f"upload/{safe_relative(entry.name)}")
                    if entry.islnk():  # a hard link names another member: renamed alike
                        linkname = safe_relative(entry.linkname)
                        renamed = renamed.replace(linkname=f"upload/{linkname}")
                    extracted = original.extractfile(entry) if entry.isfile() else None
                    packed.addfile(renamed, extracted)
    return out.getvalue()


def upload_unpack(data: bytes, dest: Path) -> Path:
    """Extract an uploaded submission into `dest`; returns the submission folder: the
    archive's root, or its one top folder when the root holds neither `config.json` nor
    `model.py`. Raises `UnsafeArchive`."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise UnsafeArchive(f"the upload is larger than {MAX_UPLOAD_BYTES:,} bytes")
    try:
        extract_folder(_wrapped_tar(data), folder="", dest=dest, limits=LIMITS)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise UnsafeArchive(f"the archive is damaged: {exc}") from exc
    inner = list(dest.iterdir())
    marked = any((dest / name).is_file() for name in ("config.json", "model.py"))
    folder = inner[0] if not marked and len(inner) == 1 and inner[0].is_dir() else dest
    if not any(path.is_file() for path in folder.rglob("*")):
        raise UnsafeArchive("the archive holds no files")
    return folder


def upload_config(folder: Path) -> dict[str, Any]:
    """The folder's `config.json`, which must be a JSON object; without one, the defaults."""
    if not (folder / "config.json").is_file():
        return {}
    try:
        config = json.loads((folder / "config.json").read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise UnsafeArchive(f"config.json is not valid JSON: {exc}") from None
    if not isinstance(config, dict):
        raise UnsafeArchive("config.json must be a JSON object (use {} for defaults)")
    return config


def upload_repack(folder: Path) -> bytes:
    """The checked folder as the platform stores it: a .tar.gz of one top folder."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as packed:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                info = tarfile.TarInfo(f"{TOP}/{path.relative_to(folder).as_posix()}")
                info.size = path.stat().st_size
                info.mode = 0o644
                with path.open("rb") as content:
                    packed.addfile(info, content)
    return out.getvalue()


def upload_prepare(data: bytes) -> tuple[bytes, dict[str, Any]]:
    """Check an upload and pack it for the store: (the packed archive, its config)."""
    with tempfile.TemporaryDirectory(prefix="crucible-upload-") as tmp:
        folder = upload_unpack(data, Path(tmp))
        return upload_repack(folder), upload_config(folder)
