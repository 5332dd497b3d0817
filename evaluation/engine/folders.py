"""Benchmarks as data: a folder with ``benchmark.toml`` and its data files.

The format (README, "Benchmark folders")::

    slug = "tinystories-cpu"          # required: the benchmark's address
    name = "TinyStories (CPU)"        # required
    spec = "demo-cpu"                 # required: the engine spec whose settings are defaults
    description = "…"                 # optional
    practice = false                  # optional: true when the validation text is public

    [data]                            # required; lists of files or globs, relative to the folder
    train = ["train/*.txt"]
    validation = ["valid.txt.gz"]     # a .gz file is decompressed when read
    test = ["test.txt"]               # optional: a hidden split

    [settings]                        # optional: any spec setting by its name
    byte_budget = 1_000_000
    seeds = [0, 1, 2]

    [settings.config.lr]              # optional: a config key's default and range
    default = 0.002
    maximum = 0.01

Pure Python, no Django: the engine's command line reads a folder directly; the platform stores
the files content-addressed and keeps the folder's *definition* (this module's JSON form, with
every file's sha256), from which :func:`spec_from_definition` rebuilds the spec. Anything the
format does not know, and any value no run could use, is refused with the key named.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from .folder_settings import (
    SPLITS,
    BenchmarkFolderError,
    check_config,
    check_layout,
    check_settings,
    spec_from_definition,
)
from .specs import SPECS, BenchmarkSpec

BENCHMARK_FILE = "benchmark.toml"
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,49}$")
TOP_KEYS = {"slug", "name", "spec", "description", "practice", "data", "settings"}
MAX_FILES = 10_000
MAX_FILE_BYTES = 4 << 30
MAX_SPLIT_BYTES = 4 << 30  # text per split, decompressed: the harness holds a split in memory


@dataclass(frozen=True)
class FolderFile:
    name: str  # relative to the folder, with forward slashes
    path: Path
    sha256: str
    size: int
    text_sha256: str  # of the text it holds (a .gz decompressed): no split may share text


@dataclass(frozen=True)
class BenchmarkFolder:
    root: Path
    definition: dict[str, Any]  # JSON: what the platform stores (no paths, digests only)
    files: dict[str, list[FolderFile]]

    @property
    def slug(self) -> str:
        return str(self.definition["slug"])

    def spec(self) -> BenchmarkSpec:
        """The spec, reading the data from the folder itself."""
        by_digest = {f.sha256: f.path for split in self.files.values() for f in split}
        return spec_from_definition(self.definition, lambda digest: str(by_digest[digest]))


def stored_path(data_dir: Path, digest: str) -> Path:
    """Where the platform's data store keeps a file: by its sha256 (the store's only key)."""
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise BenchmarkFolderError(f"not a sha256: {digest!r}")
    return data_dir / "sha256" / digest[:2] / digest


def spec_from_stored(definition: dict[str, Any], data_dir: Path) -> BenchmarkSpec:
    """The spec of an imported benchmark, its data read from the platform's store."""
    return spec_from_definition(definition, lambda digest: str(stored_path(data_dir, digest)))


def load_folder(root: Path) -> BenchmarkFolder:
    """Read and check a benchmark folder: its TOML, its settings, every data file."""
    root = root.resolve()
    try:
        document = tomllib.loads((root / BENCHMARK_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchmarkFolderError(f"{root} has no {BENCHMARK_FILE}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BenchmarkFolderError(f"{BENCHMARK_FILE} is not valid TOML: {exc}") from None
    definition = _definition(document)
    files: dict[str, list[FolderFile]] = {}
    for split, patterns in document["data"].items():
        files[split] = _resolve(root, split, patterns)
    _check_disjoint(files)
    definition["data"] = {
        split: [
            {"name": f.name, "sha256": f.sha256, "size": f.size, "gzip": f.name.endswith(".gz")}
            for f in listed
        ]
        for split, listed in files.items()
    }
    folder = BenchmarkFolder(root=root, definition=definition, files=files)
    spec = folder.spec()
    check_data_sizes(spec)
    check_layout(spec)
    return folder


def _definition(document: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(document) - TOP_KEYS)
    if unknown:
        raise BenchmarkFolderError(
            f"unknown key {unknown[0]!r} in {BENCHMARK_FILE}; known: {', '.join(sorted(TOP_KEYS))}"
        )
    for key in ("slug", "name", "spec", "data"):
        if key not in document:
            raise BenchmarkFolderError(f"{key}: required")
    slug, name, spec = document["slug"], document["name"], document["spec"]
    if not isinstance(slug, str) or not SLUG.match(slug):
        raise BenchmarkFolderError(
            "slug: lower-case letters, digits and dashes (at most 50), starting with a letter "
            "or digit"
        )
    if not isinstance(name, str) or not 0 < len(name.strip()) <= 200:
        raise BenchmarkFolderError("name: a text of 1 to 200 characters")
    if spec not in SPECS:
        raise BenchmarkFolderError(f"spec: unknown engine spec {spec!r}; known: {', '.join(SPECS)}")
    description = document.get("description", "")
    if not isinstance(description, str) or len(description) > 5000:
        raise BenchmarkFolderError("description: a text of at most 5,000 characters")
    practice = document.get("practice", False)
    if not isinstance(practice, bool):
        raise BenchmarkFolderError("practice: true or false")
    data = document["data"]
    if not isinstance(data, dict):
        raise BenchmarkFolderError("data: a table with train and validation")
    for key in data:
        if key not in SPLITS:
            raise BenchmarkFolderError(f"data.{key}: unknown split; known: {', '.join(SPLITS)}")
    for key in ("train", "validation"):
        if key not in data:
            raise BenchmarkFolderError(f"data.{key}: required")
    settings = document.get("settings", {})
    if not isinstance(settings, dict):
        raise BenchmarkFolderError("settings: a table")
    settings = dict(settings)
    config = settings.pop("config", {})
    definition = {
        "slug": slug,
        "name": name.strip(),
        "spec": spec,
        "description": description.strip() or SPECS[spec].description,
        "practice": practice,
        "settings": check_settings(settings),
        "config": check_config(SPECS[spec], config),
    }
    # The combination must make a run possible.
    spec_from_definition({**definition, "data": None}, lambda digest: digest)
    return definition


def check_data_sizes(spec: BenchmarkSpec) -> None:
    """Enough text in each split for the spec's windows (reads the files once)."""
    assert spec.data is not None
    for split, needed in (
        ("train", spec.block_size + 2),
        ("validation", spec.eval_windows * spec.block_size + 1),
        ("test", spec.eval_windows * spec.block_size + 1),
    ):
        listed = getattr(spec.data, split)
        if not listed:
            continue
        size = sum(_text_size(Path(f.path), f.gzip) for f in listed)
        if size > MAX_SPLIT_BYTES:
            raise BenchmarkFolderError(
                f"data.{split}: more than {MAX_SPLIT_BYTES >> 30} GiB of text"
            )
        if size < needed:
            raise BenchmarkFolderError(
                f"data.{split}: {size:,} bytes of text; the settings need at least {needed:,} "
                f"({spec.eval_windows} windows of {spec.block_size})"
                if split != "train"
                else f"data.train: {size:,} bytes of text; one window needs {needed:,}"
            )


def _text_size(path: Path, compressed: bool) -> int:
    """The bytes of text a file holds, a .gz counted as it decompresses (streamed, and stopped
    past the cap: a small file that inflates to terabytes is refused, not unpacked)."""
    if not compressed:
        size = path.stat().st_size
    else:
        size = 0
        try:
            with gzip.open(path, "rb") as stream:
                while chunk := stream.read(1 << 20):
                    size += len(chunk)
                    if size > MAX_SPLIT_BYTES:
                        break
        except (OSError, EOFError) as exc:
            raise BenchmarkFolderError(f"{path.name}: not valid gzip ({exc})") from None
    if size > MAX_SPLIT_BYTES:
        raise BenchmarkFolderError(
            f"{path.name}: more than {MAX_SPLIT_BYTES >> 30} GiB of text (the harness holds a "
            "split in memory)"
        )
    return size


def _resolve(root: Path, split: str, patterns: Any) -> list[FolderFile]:
    where = f"data.{split}"
    if isinstance(patterns, str):
        patterns = [patterns]
    if not isinstance(patterns, list) or not patterns:
        raise BenchmarkFolderError(f"{where}: a list of files or globs")
    found: dict[str, Path] = {}
    for pattern in patterns:
        if not isinstance(pattern, str) or not pattern:
            raise BenchmarkFolderError(f"{where}: each entry is a file name or glob")
        pure = PurePosixPath(pattern)
        if pure.is_absolute() or ".." in pure.parts or "\\" in pattern:
            raise BenchmarkFolderError(f"{where}: {pattern!r} must stay inside the folder")
        matches = sorted(root.glob(pattern))
        if not matches:
            raise BenchmarkFolderError(f"{where}: {pattern!r} matches no file")
        for match in matches:
            real = match.resolve()
            if not real.is_relative_to(root):
                raise BenchmarkFolderError(f"{where}: {pattern!r} leads out of the folder")
            if not real.is_file():
                continue
            name = real.relative_to(root).as_posix()
            if name == BENCHMARK_FILE:
                raise BenchmarkFolderError(f"{where}: {BENCHMARK_FILE} is not data")
            found[name] = real
    if not found:
        raise BenchmarkFolderError(f"{where}: no files")
    if len(found) > MAX_FILES:
        raise BenchmarkFolderError(f"{where}: more than {MAX_FILES:,} files")
    listed = []
    for name in sorted(found):
        path = found[name]
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise BenchmarkFolderError(f"{where}: {name} is larger than {MAX_FILE_BYTES >> 30} GiB")
        digest = _sha256(path)
        text = _text_sha256(path) if name.endswith(".gz") else digest
        listed.append(FolderFile(name, path, sha256=digest, size=size, text_sha256=text))
    return listed


def _check_disjoint(files: dict[str, list[FolderFile]]) -> None:
    """No file, and no file's bytes, in two splits: held-out text must not be training text."""
    seen: dict[str, str] = {}
    for split, listed in files.items():
        for item in listed:
            for key in (f"name:{item.name}", f"sha256:{item.sha256}", f"text:{item.text_sha256}"):
                other = seen.get(key)
                if other is not None and other != split:
                    raise BenchmarkFolderError(
                        f"data.{split}: {item.name} is also in data.{other} (the same file or "
                        "the same bytes); the splits must not share text"
                    )
                seen[key] = split


def _text_sha256(path: Path) -> str:
    """The sha256 of a .gz file's text, streamed, stopped past the cap."""
    digest, size = hashlib.sha256(), 0
    try:
        with gzip.open(path, "rb") as stream:
            while chunk := stream.read(1 << 20):
                size += len(chunk)
                if size > MAX_SPLIT_BYTES:
                    raise BenchmarkFolderError(
                        f"{path.name}: more than {MAX_SPLIT_BYTES >> 30} GiB of text"
                    )
                digest.update(chunk)
    except (OSError, EOFError) as exc:
        raise BenchmarkFolderError(f"{path.name}: not valid gzip ({exc})") from None
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
