"""Safe extraction of one folder out of a repository tarball, as GitHub serves it.

The tarball comes from a contributor's branch, so every member is hostile until checked: nothing
is written outside the destination (no absolute paths, no `..`, no links that lead out), nothing
but plain files and folders is created (no devices, FIFOs or links: a link that stays inside the
folder is written as a copy of its target), and the total size and file count are capped while
reading, before anything is written. Any violation refuses the whole archive with a message that
names the member.
"""

import io
import posixpath
import tarfile
from dataclasses import dataclass
from pathlib import Path


class UnsafeArchive(ValueError):  # noqa: N818 - reads as the verdict
    """The archive breaks a safety rule or a cap; the message names the member and the rule."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_files: int


def _clean(name: str) -> str:
    """The member's path relative to the archive root, or raise if it could leave it."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[0].isalpha() and name[1] == ":"):
        raise UnsafeArchive(f"{name!r}: absolute paths are not allowed")
    parts = name.replace("\\", "/").split("/")
    if ".." in parts:
        raise UnsafeArchive(f"{name!r}: '..' in a path is not allowed")
    normalized = posixpath.normpath(name.replace("\\", "/"))
    return "" if normalized == "." else normalized


safe_relative = _clean  # for other archive formats' member names (uploads)


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder + "/")


def extract_folder(data: bytes, *, folder: str, dest: Path, limits: Limits) -> int:
    """Write `folder` (relative to the archive's single top folder, `<owner>-<repo>-<sha>/` on
    GitHub) from the gzipped tarball `data` into `dest`; returns the number of files written.

    Members outside `folder` are skipped without being written; members inside are checked and
    the archive refused as a whole when one breaks a rule.
    """
    folder = posixpath.normpath(folder.strip("/")) if folder.strip("/") else ""
    try:
        tar = tarfile.open(fileobj=io.BytesIO(data), mode="r:*")  # noqa: SIM115 - closed below
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise UnsafeArchive(f"not a readable tar archive: {exc}") from exc
    with tar:
        try:
            members = tar.getmembers()
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise UnsafeArchive(f"the archive is damaged: {exc}") from exc
        tops = {_clean(m.name).split("/", 1)[0] for m in members if _clean(m.name)}
        if len(tops) != 1:
            raise UnsafeArchive(
                f"expected one top folder in the repository archive, found {len(tops)}"
            )
        top = tops.pop()
        prefix = f"{top}/{folder}" if folder else top
        chosen: dict[str, tarfile.TarInfo] = {}
        by_path: dict[str, tarfile.TarInfo] = {}
        for member in members:
            path = _clean(member.name)
            by_path[path] = member
            if _inside(path, prefix) and path != prefix:
                chosen[path] = member
        if not chosen:
            raise UnsafeArchive(f"the archive has no folder {folder or '/'!r}")
        files: list[tuple[str, tarfile.TarInfo]] = []
        total = 0
        for path, member in chosen.items():
            relative = path[len(prefix) + 1 :]
            if member.isdir():
                continue
            source = member
            if member.issym() or member.islnk():
                source = _link_target(member, path=path, prefix=prefix, by_path=by_path)
            elif not member.isfile():
                raise UnsafeArchive(
                    f"{relative!r}: only files and folders are allowed, not {_kind(member)} entries"
                )
            total += max(source.size, 0)
            files.append((relative, source))
            if len(files) > limits.max_files:
                raise UnsafeArchive(
                    f"more than {limits.max_files} files in {folder or 'the archive'}"
                )
            if total > limits.max_bytes:
                raise UnsafeArchive(
                    f"{folder or 'the archive'} is larger than {limits.max_bytes:,} bytes"
                )
        names = {relative for relative, _source in files}
        for relative in names:
            parents = relative.split("/")[:-1]
            for depth in range(1, len(parents) + 1):
                if "/".join(parents[:depth]) in names:
                    raise UnsafeArchive(
                        f"{relative!r}: {'/'.join(parents[:depth])!r} is both a file and a folder"
                    )
        dest_root = dest.resolve()
        for relative, source in files:
            target = (dest_root / relative).resolve()
            if not target.is_relative_to(dest_root):
                raise UnsafeArchive(f"{relative!r}: would be written outside the folder")
            extracted = tar.extractfile(source)
            if extracted is None:
                raise UnsafeArchive(f"{relative!r}: cannot be read")
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                with extracted, target.open("wb") as out:
                    out.write(extracted.read(limits.max_bytes + 1))
            except (FileExistsError, IsADirectoryError, NotADirectoryError):  # checked above
                raise UnsafeArchive(f"{relative!r}: cannot be written here") from None
        return len(files)


def _kind(member: tarfile.TarInfo) -> str:
    if member.ischr() or member.isblk():
        return "device"
    if member.isfifo():
        return "FIFO"
    return "special"


def _link_target(
    member: tarfile.TarInfo, *, path: str, prefix: str, by_path: dict[str, tarfile.TarInfo]
) -> tarfile.TarInfo:
    """The regular file a link inside the folder points to; refuse a link that leads out."""
    relative = path[len(prefix) + 1 :]
    link = member.linkname.replace("\\", "/")
    if link.startswith("/"):
        raise UnsafeArchive(f"{relative!r}: a link to an absolute path ({link!r}) is not allowed")
    if member.issym():
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), link))
    else:  # a hard link names another member of the archive
        resolved = posixpath.normpath(link)
    if not _inside(resolved, prefix) or resolved.startswith("../"):
        raise UnsafeArchive(f"{relative!r}: a link leaving the submission folder ({link!r})")
    target = by_path.get(resolved)
    if target is None or not target.isfile():
        raise UnsafeArchive(f"{relative!r}: a link to something that is not a file ({link!r})")
    return target
