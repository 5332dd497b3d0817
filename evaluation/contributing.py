"""How to contribute a model change to a benchmark, from the benchmark itself: its model
repository, the folder a pull request adds and the files that folder holds. One source for
`/submit/`, the leaderboard, the Contributing doc (a panel), the PR comment and the reference
folder's download, so that they never tell a contributor three different things."""

import io
import json
import tarfile
from dataclasses import dataclass

from django.urls import reverse

from evaluation.engine.passes import REFERENCE_DIR
from evaluation.engine.specs import config_resolve
from evaluation.models import Benchmark
from evaluation.selectors import benchmark_spec

# What a submission folder may hold (the engine's rules, `evaluation/engine/README.md`).
FILES = (
    (
        "model.py",
        "build_model(vocab_size, block_size, config) returning a torch module whose "
        "forward(idx[B, T]) gives logits [B, T, 256]; without it, the reference model",
    ),
    (
        "config.json",
        "the settings (the keys of the config form on /submit/; keys starting with custom_ "
        "are passed to your code); without it, the defaults",
    ),
    ("optimizer.py", "build_optimizer(model, config) returning a torch optimizer; optional"),
    ("other .py files", "helper modules your model imports; optional"),
)
PLACEHOLDER = "<your-name>"


@dataclass(frozen=True)
class Guide:
    """How to submit to one benchmark."""

    slug: str
    repository: str  # "owner/name", "" when the benchmark takes no pull requests
    repository_url: str
    folder: str  # the folder a pull request adds, e.g. "submissions/demo-cpu/<your-name>"
    reference_url: str
    files: tuple[tuple[str, str], ...] = FILES

    @property
    def takes_pull_requests(self) -> bool:
        return bool(self.repository and self.folder)


def contribution_guide(benchmark: Benchmark) -> Guide:
    """The benchmark's guide: pull requests only where it names a model repository and a
    submission path (intake watches nothing else)."""
    repository = benchmark.model_repository
    root = benchmark.submission_path.strip("/")
    takes = repository is not None and bool(root)
    return Guide(
        slug=benchmark.slug,
        repository=repository.full_name if takes and repository else "",
        repository_url=repository.html_url if takes and repository else "",
        folder=f"{root}/{PLACEHOLDER}" if takes else "",
        reference_url=reverse("benchmark-reference", args=[benchmark.slug]),
    )


def guide_markdown(guide: Guide, *, site: str = "") -> str:
    """The guide as Markdown (the PR comment, the Contributing doc's panel has HTML)."""
    lines = []
    if guide.takes_pull_requests:
        lines.append(
            f"Fork [{guide.repository}]({guide.repository_url}) and add one folder, "
            f"`{guide.folder}/`, holding any of:"
        )
    else:
        lines.append(f"`{guide.slug}` takes uploads on /submit/; a submission folder holds any of:")
    lines += [f"- `{name}`: {what}" for name, what in guide.files]
    lines.append(f"\nStart from the reference folder: {site}{guide.reference_url}")
    return "\n".join(lines)


def reference_archive(benchmark: Benchmark) -> bytes:
    """The reference submission folder as a .tar.gz (`<slug>-reference/`): its model.py and a
    config.json with every default written out, to copy and change."""
    buffer = io.BytesIO()
    top = f"{benchmark.slug}-reference"
    defaults = config_resolve(benchmark_spec(benchmark), {})
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        files = {
            "model.py": (REFERENCE_DIR / "model.py").read_bytes(),
            "config.json": (json.dumps(defaults, indent=2) + "\n").encode(),
        }
        for name, content in files.items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(content)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()
