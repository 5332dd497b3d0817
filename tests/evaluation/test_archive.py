"""Safe extraction of a submission folder from a repository tarball: each hostile case is
refused with a message naming the member, and nothing lands outside the destination."""

import gzip
import io
import tarfile
from pathlib import Path

import pytest

from evaluation.archive import Limits, UnsafeArchive, extract_folder

TOP = "Codertocat-Hello-World-aaaaaaa"
FOLDER = "submissions/demo/wider"
LIMITS = Limits(max_bytes=10_000, max_files=5)


def _tarball(entries: list[tarfile.TarInfo | tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for entry in entries:
            if isinstance(entry, tarfile.TarInfo):
                tar.addfile(entry)
            else:
                name, content = entry
                info = tarfile.TarInfo(name)
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return gzip.compress(buffer.getvalue())


def _special(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


GOOD = [
    (f"{TOP}/README.md", b"repo"),
    (f"{TOP}/{FOLDER}/config.json", b"{}"),
    (f"{TOP}/{FOLDER}/model.py", b"print('hi')"),
    (f"{TOP}/submissions/demo/other/config.json", b"{}"),
]

HOSTILE = {
    "absolute": ([(f"/{TOP}/{FOLDER}/x.py", b"")], "absolute paths are not allowed"),
    "dotdot": ([(f"{TOP}/{FOLDER}/../../../../../tmp/evil.py", b"")], "'..' in a path"),
    "device": ([_special(f"{TOP}/{FOLDER}/dev", tarfile.CHRTYPE)], "not device entries"),
    "fifo": ([_special(f"{TOP}/{FOLDER}/pipe", tarfile.FIFOTYPE)], "not FIFO entries"),
    "symlink-out": (
        [_special(f"{TOP}/{FOLDER}/data.py", tarfile.SYMTYPE, "../../../README.md")],
        "a link leaving the submission folder",
    ),
    "symlink-absolute": (
        [_special(f"{TOP}/{FOLDER}/passwd", tarfile.SYMTYPE, "/etc/passwd")],
        "a link to an absolute path",
    ),
    "hardlink-out": (
        [_special(f"{TOP}/{FOLDER}/readme", tarfile.LNKTYPE, f"{TOP}/README.md")],
        "a link leaving the submission folder",
    ),
    "too-many-files": (
        [(f"{TOP}/{FOLDER}/f{i}.py", b"") for i in range(6)],
        "more than 5 files in submissions/demo/wider",
    ),
    "too-large": (
        [(f"{TOP}/{FOLDER}/weights.bin", b"\0" * 10_001)],
        "larger than 10,000 bytes",
    ),
    "two-tops": ([("elsewhere/config.json", b"{}")], "expected one top folder"),
    "file-and-folder": (
        [(f"{TOP}/{FOLDER}/model.py/inner.py", b"")],
        "'model.py' is both a file and a folder",
    ),
}


def hostile_tarball(kind: str) -> bytes:
    entries, _message = HOSTILE[kind]
    return _tarball([*GOOD, *entries])


def test_the_submission_folder_alone_is_extracted(tmp_path: Path) -> None:
    inside = _special(f"{TOP}/{FOLDER}/alias.py", tarfile.SYMTYPE, "model.py")
    written = extract_folder(_tarball([*GOOD, inside]), folder=FOLDER, dest=tmp_path, limits=LIMITS)
    assert written == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alias.py", "config.json", "model.py"]
    # A link that stays inside is written as a copy of its target, never as a link.
    assert not (tmp_path / "alias.py").is_symlink()
    assert (tmp_path / "alias.py").read_bytes() == b"print('hi')"


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_each_hostile_archive_is_refused_with_a_clear_message(kind: str, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(UnsafeArchive, match=HOSTILE[kind][1]):
        extract_folder(hostile_tarball(kind), folder=FOLDER, dest=dest, limits=LIMITS)
    assert list(dest.iterdir()) == []  # checked before anything is written
    assert not (tmp_path / "evil.py").exists() and not Path("/tmp/evil.py").exists()


def test_not_a_tarball_or_no_such_folder(tmp_path: Path) -> None:
    with pytest.raises(UnsafeArchive, match="not a readable tar archive"):
        extract_folder(b"<html>oops</html>", folder=FOLDER, dest=tmp_path, limits=LIMITS)
    with pytest.raises(UnsafeArchive, match="has no folder 'submissions/demo/nope'"):
        extract_folder(_tarball(GOOD), folder="submissions/demo/nope", dest=tmp_path, limits=LIMITS)
