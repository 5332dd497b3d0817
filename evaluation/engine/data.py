"""The shipped corpus, its pinned checksum, the fixed train/validation split and the batches.

The harness process owns all of this; submission code never opens a corpus file. The trainer
in the sandbox receives training batches over a pipe (see ``runner.py``), so the bytes it sees
are counted, and the budget enforced, outside submission code.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

import torch

from .specs import BenchmarkSpec, DataFile

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
VAL_BYTES = 256 * 1024  # the validation split: the last 256 KiB of the corpus


@dataclass(frozen=True)
class CorpusInfo:
    file: str
    sha256: str  # of the decompressed bytes
    size: int


CORPORA: dict[str, CorpusInfo] = {
    "shakespeare": CorpusInfo(
        file="shakespeare.txt.gz",
        sha256="da68ca4e8201d41a12c1d5e82d967bda85105f1dabe823d5735138bccabdd387",
        size=5_057_198,
    ),
}


class CorpusError(RuntimeError):
    """The benchmark's text cannot be read as it must be (missing, or not what was imported)."""


@functools.cache
def corpus_load(name: str) -> bytes:
    """The whole corpus, verified against its pinned sha256."""
    info = CORPORA.get(name)
    if info is None:
        raise CorpusError(f"unknown corpus {name!r}")
    path = CORPUS_DIR / info.file
    try:
        raw = gzip.decompress(path.read_bytes())
    except (OSError, EOFError) as exc:
        raise CorpusError(f"cannot read corpus {path}: {exc}") from exc
    digest = hashlib.sha256(raw).hexdigest()
    if digest != info.sha256 or len(raw) != info.size:
        raise CorpusError(
            f"corpus {path} fails its checksum (sha256 {digest}, expected {info.sha256}); "
            "restore it from git"
        )
    return raw


def corpus_split(name: str) -> tuple[bytes, bytes]:
    """(training split, validation split): fixed, documented, disjoint."""
    raw = corpus_load(name)
    return raw[:-VAL_BYTES], raw[-VAL_BYTES:]


def read_files(files: tuple[DataFile, ...]) -> bytes:
    """The files' bytes, in order, each checked against its sha256 (a ``.gz`` decompressed)."""
    parts = []
    for item in files:
        try:
            raw = Path(item.path).read_bytes()
        except OSError as exc:
            raise CorpusError(f"cannot read benchmark data {item.path}: {exc}") from exc
        digest = hashlib.sha256(raw).hexdigest()
        if digest != item.sha256 or len(raw) != item.size:
            raise CorpusError(
                f"benchmark data {item.path} is not the imported file (sha256 {digest}, "
                f"expected {item.sha256}); import the benchmark again"
            )
        if item.gzip:
            try:
                raw = gzip.decompress(raw)
            except (OSError, EOFError) as exc:
                raise CorpusError(f"benchmark data {item.path} is not valid gzip: {exc}") from exc
        parts.append(raw)
    return b"".join(parts)


def splits(spec: BenchmarkSpec) -> tuple[bytes, bytes, bytes | None]:
    """(training text, validation text, hidden test text or None) of a benchmark: its files,
    or the shipped corpus (which has no hidden split)."""
    if spec.data is None:
        return (*corpus_split(spec.corpus), None)
    test = read_files(spec.data.test) if spec.data.test else None
    return read_files(spec.data.train), read_files(spec.data.validation), test


class BatchSampler:
    """Seeded random windows of ``block_size + 1`` bytes from the training split."""

    def __init__(self, train: bytes, block_size: int, seed: int) -> None:
        if len(train) <= block_size + 1:
            raise ValueError("training split shorter than one window")
        self.train = train
        self.window = block_size + 1
        self.generator = torch.Generator().manual_seed(seed)

    def next_batch(self, batch_size: int) -> bytes:
        starts = torch.randint(
            0, len(self.train) - self.window + 1, (batch_size,), generator=self.generator
        ).tolist()
        return b"".join(self.train[s : s + self.window] for s in starts)


def eval_windows(val: bytes, block_size: int, count: int) -> list[bytes]:
    """``count`` non-overlapping windows of ``block_size + 1`` bytes (input + shifted target)."""
    if count * block_size + 1 > len(val):
        raise ValueError(
            f"{count} windows of {block_size} need {count * block_size + 1} validation bytes; "
            f"the split holds {len(val)}"
        )
    return [val[i * block_size : i * block_size + block_size + 1] for i in range(count)]
