"""A benchmark folder whose text no submission can have: words drawn from a random source
with a secret seed, written by the test that needs it."""

from __future__ import annotations

import gzip
import random
import secrets
from pathlib import Path

WORDS = [
    "the",
    "a",
    "model",
    "trains",
    "on",
    "bytes",
    "and",
    "scores",
    "held",
    "out",
    "text",
    "while",
    "every",
    "seed",
    "counts",
    "loss",
    "falls",
    "slowly",
    "then",
    "quickly",
    "under",
    "warm",
    "up",
    "decay",
    "with",
    "careful",
    "gradient",
    "clipping",
]

# Tiny settings: a run of a few steps on 32-byte windows, seconds on a CPU.
TINY_SETTINGS = """
[settings]
block_size = 32
batch_size = 8
byte_budget = 1536
train_wall_s = 60.0
startup_grace_s = 60.0
eval_windows = 32
eval_batch_size = 8
eval_wall_s = 60.0
log_every = 1
seeds = [7]
scratch_bytes = 67108864
max_output_bytes = 1048576
"""


def secret_text(size: int, rng: random.Random) -> bytes:
    out: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(WORDS)
        if rng.random() < 0.1:
            word = "".join(rng.choice("bcdfghklmnprstvz") for _ in range(rng.randint(3, 8)))
        out.append(word)
        length += len(word) + 1
    return " ".join(out).encode()[:size]


def make_benchmark_folder(
    root: Path,
    *,
    slug: str = "secret-text",
    practice: bool = False,
    extra: str = "",
    seed: int | None = None,
) -> Path:
    """Writes `root/benchmark.toml`, `train/*.txt`, `valid.txt.gz` and `test.txt`."""
    rng = random.Random(seed if seed is not None else secrets.randbits(64))
    (root / "train").mkdir(parents=True, exist_ok=True)
    for part in range(2):
        (root / "train" / f"part{part}.txt").write_bytes(secret_text(40_000, rng))
    (root / "valid.txt.gz").write_bytes(gzip.compress(secret_text(4_000, rng)))
    (root / "test.txt").write_bytes(secret_text(4_000, rng))
    (root / "benchmark.toml").write_text(
        f'slug = "{slug}"\n'
        'name = "Secret text"\n'
        'spec = "demo-cpu"\n'
        'description = "Words from a random source with a secret seed."\n'
        f"practice = {'true' if practice else 'false'}\n"
        "\n[data]\n"
        'train = ["train/*.txt"]\n'
        'validation = ["valid.txt.gz"]\n'
        'test = ["test.txt"]\n' + TINY_SETTINGS + extra
    )
    return root
