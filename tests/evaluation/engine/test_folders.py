"""Benchmarks as data: a folder with `benchmark.toml` is checked key by key, its text is read by
the harness alone, and a run on it trains and scores on that text."""

import random
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evaluation.engine.folders import BenchmarkFolderError, load_folder
from tests.support.benchmark_folder import make_benchmark_folder, secret_text

REPO = Path(__file__).resolve().parents[3]
END = "max_output_bytes = 1048576"  # the last line of the folder's [settings]


def rewrite(folder: Path, old: str, new: str) -> None:
    toml = folder / "benchmark.toml"
    text = toml.read_text()
    assert old in text, old
    toml.write_text(text.replace(old, new))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return make_benchmark_folder(tmp_path / "bench")


def test_a_folder_gives_a_spec_with_its_settings_and_every_file_by_sha256(folder: Path) -> None:
    loaded = load_folder(folder)
    spec = loaded.spec()
    assert spec.name == "secret-text" and spec.block_size == 32 and spec.seeds == (7,)
    assert spec.data is not None
    assert [Path(f.path).name for f in spec.data.train] == ["part0.txt", "part1.txt"]
    assert [Path(f.path).name for f in spec.data.validation] == ["valid.txt.gz"]
    assert [Path(f.path).name for f in spec.data.test] == ["test.txt"]
    data = loaded.definition["data"]
    assert all(len(f["sha256"]) == 64 for split in data.values() for f in split)
    assert "path" not in str(loaded.definition)  # the platform stores digests, not paths


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ('name = "Secret text"', 'name = "Secret text"\ncolour = "red"', "colour"),
        ('train = ["train/*.txt"]\n', "", "data.train: required"),
        ('spec = "demo-cpu"', 'spec = "nope"', "spec: unknown engine spec"),
        ('slug = "secret-text"', 'slug = "Secret Text!"', "slug"),
        ("byte_budget = 1536", "byte_budget = 10", "settings.byte_budget"),
        ("byte_budget = 1536", "byte_budget = 1e400", "settings.byte_budget"),
        ("byte_budget = 1536", 'byte_budget = "lots"', "settings.byte_budget"),
        ("seeds = [7]", "seeds = [7, 7]", "settings.seeds"),
        ("seeds = [7]", "seeds = [7]\nthreads = 2", "settings.threads: unknown setting"),
        ("seeds = [7]", "seeds = [7]\ngpus = 3", "settings.gpus: must divide batch_size"),
        ("seeds = [7]", "seeds = [7]\ngpus = 65", "settings.gpus"),
        (
            END,
            END + "\ngpus = 2\n[settings.config.micro_batch_size]\ndefault = 1",
            "micro_batch_size: must be a multiple",
        ),
        ("eval_windows = 32", "eval_windows = 4000", "data.validation"),
        ("eval_windows = 32", "eval_windows = 100000", "settings.eval_windows: a whole number"),
        ("eval_windows = 32", "eval_windows = 8", "settings.eval_windows"),
        ('validation = ["valid.txt.gz"]', 'validation = ["../secret.txt"]', "inside the folder"),
        ('validation = ["valid.txt.gz"]', 'validation = ["/etc/passwd"]', "inside the folder"),
        ('validation = ["valid.txt.gz"]', 'validation = ["nothing*"]', "matches no file"),
        ('validation = ["valid.txt.gz"]', 'validation = ["train/part0.txt"]', "also in data."),
        ('test = ["test.txt"]', 'test = ["test.txt"]\nextra = ["x"]', "data.extra"),
        (END, END + "\n[settings.config.lr]\nmaximum = 0.0001", "settings.config.lr: needs"),
        (END, END + "\n[settings.config.colour]\ndefault = 1", "settings.config."),
        # A folder narrows the spec's config ranges and keeps its defaults valid.
        (END, END + "\n[settings.config.n_head]\ndefault = 0\nminimum = 0", "range"),
        (END, END + "\n[settings.config.n_layer]\nmaximum = 1000000", "range"),
        (END, END + "\n[settings.config.n_head]\ndefault = 3", "the defaults do not"),
        (END, END + "\n[settings.config.micro_batch_size]\ndefault = 3", "defaults"),
    ],
)
def test_unknown_keys_and_impossible_values_are_refused_by_name(
    folder: Path, old: str, new: str, named: str
) -> None:
    rewrite(folder, old, new)
    with pytest.raises(BenchmarkFolderError, match=named.replace(".", r"\.").replace("*", r"\*")):
        load_folder(folder)


def test_a_link_leading_out_of_the_folder_and_copied_bytes_are_refused(folder: Path) -> None:
    (folder / "leak.txt").symlink_to("/etc/hostname")
    rewrite(folder, 'test = ["test.txt"]', 'test = ["leak.txt"]')
    with pytest.raises(BenchmarkFolderError, match="leads out of the folder"):
        load_folder(folder)
    # The same bytes under another name in two splits: the held-out text would be trained on.
    (folder / "leak.txt").unlink()
    shutil.copy(folder / "train" / "part1.txt", folder / "copy.txt")
    rewrite(folder, 'test = ["leak.txt"]', 'test = ["copy.txt"]')
    with pytest.raises(BenchmarkFolderError, match="share text"):
        load_folder(folder)
    # And the held-out text gzipped into the training files: the same text, other bytes.
    import gzip

    (folder / "copy.txt").unlink()
    rewrite(folder, 'test = ["copy.txt"]', 'test = ["test.txt"]')
    text = (folder / "test.txt").read_bytes()
    (folder / "train" / "part2.txt.gz").write_bytes(gzip.compress(text))
    rewrite(folder, 'train = ["train/*.txt"]', 'train = ["train/*"]')
    with pytest.raises(BenchmarkFolderError, match="share text"):
        load_folder(folder)


@pytest.fixture
def private_folder() -> Iterator[Path]:
    """Outside /tmp (each sandboxed pass has its own /tmp), where a platform keeps its data."""
    root = REPO / "var" / f"test-benchmark-{uuid.uuid4().hex[:10]}"
    try:
        yield make_benchmark_folder(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


PEEK = """
PATHS = {paths!r}


def build_model(vocab_size, block_size, config):
    for path in PATHS:
        try:
            with open(path, "rb") as handle:
                print("READABLE", path, len(handle.read()), flush=True)
        except OSError as exc:
            print("UNREADABLE", path, type(exc).__name__, flush=True)
    return Bigram()
"""


def test_a_run_on_a_folder_trains_and_scores_and_no_pass_can_read_its_data(
    run: Any, make_submission: Any, private_folder: Path
) -> None:
    from tests.evaluation.engine.conftest import BIGRAM

    spec = load_folder(private_folder).spec()
    assert spec.data is not None
    paths = [
        f.path for split in (spec.data.validation, spec.data.test, spec.data.train) for f in split
    ]
    submission = make_submission(BIGRAM + PEEK.format(paths=paths))
    result = run(spec, submission)
    assert result["status"] == "ok", result["error"]
    assert result["sandbox"].startswith("bubblewrap")
    assert 0 < result["val_bits_per_byte"] < 16  # a few steps: near random
    # The hidden test split is scored in the same passes, and the probe covered its windows.
    assert 0 < result["test_bits_per_byte"] < 16
    assert result["test_bits_per_byte"] != result["val_bits_per_byte"]
    assert result["causality"]["rows_per_pass"] >= 2 * spec.eval_windows
    assert result["bytes_trained"] == spec.byte_budget
    log = result["log_tail"]
    assert "READABLE" not in log.replace("UNREADABLE", "")
    assert log.count("UNREADABLE") == len(paths)


def test_the_engine_command_line_takes_a_folder(folder: Path) -> None:
    from evaluation.engine.__main__ import _benchmark

    spec = _benchmark(str(folder))
    assert spec.name == "secret-text" and spec.data is not None


def test_a_gzip_that_inflates_past_the_cap_is_refused_without_unpacking_it(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gzip

    from evaluation.engine import folders

    monkeypatch.setattr(folders, "MAX_SPLIT_BYTES", 8 << 20)  # 8 MiB here; 4 GiB for real
    (folder / "valid.txt.gz").write_bytes(gzip.compress(b"\0" * (64 << 20), compresslevel=9))
    with pytest.raises(BenchmarkFolderError, match=r"valid\.txt\.gz: more than"):
        load_folder(folder)


LEAK = """
import sys


class Leaky(nn.Module):
    def __init__(self):
        super().__init__()
        self.table = nn.Embedding(256, 256)

    def forward(self, idx):
        if not self.training:  # a scoring pass: print the held-out windows, then fail
            sys.stderr.write("LEAK|" + bytes(idx.flatten().tolist()).decode("latin-1"))
            sys.stderr.flush()
            os._exit(1)
        return self.table(idx)


def build_model(vocab_size, block_size, config):
    return Leaky()
"""


def test_a_failing_scoring_pass_cannot_carry_private_text_out_in_its_error(
    run: Any, make_submission: Any, folder: Path
) -> None:
    spec = load_folder(folder).spec()
    assert spec.private_text
    result = run(spec, make_submission(LEAK))
    assert result["status"] == "failed"
    assert "withheld" in result["error"] and "LEAK" not in result["error"]
    assert "LEAK" not in result["log_tail"]
    assert "LEAK|" in result["private_error"]  # the engine's own result keeps it, locally

    # On a practice benchmark (its text is public) the output helps the author debug.
    rewrite(folder, "practice = false", "practice = true")
    practice = load_folder(folder).spec()
    assert not practice.private_text
    assert "LEAK|" in run(practice, make_submission(LEAK))["error"]


def test_settings_the_causality_probe_cannot_lay_out_are_refused_at_import(
    folder: Path,
) -> None:
    """A red-team find: 32 windows of 1,024 bytes in batches of 8 passed the folder's checks and
    made every run an "engine error". The probe's layout is tried when the folder is read."""
    rng = random.Random(5)
    for name in ("valid.txt", "test.txt"):
        (folder / name).write_bytes(secret_text(40_000, rng))
    (folder / "valid.txt.gz").unlink()
    rewrite(folder, 'validation = ["valid.txt.gz"]', 'validation = ["valid.txt"]')
    rewrite(folder, "block_size = 32", "block_size = 1024")
    rewrite(folder, "byte_budget = 1536", "byte_budget = 8192")
    rewrite(folder, "eval_windows = 32", "eval_windows = 16")
    with pytest.raises(BenchmarkFolderError, match=r"settings\.eval_windows: the causality probe"):
        load_folder(folder)
    rewrite(folder, "eval_batch_size = 8", "eval_batch_size = 2")
    assert load_folder(folder).spec().eval_windows == 16
