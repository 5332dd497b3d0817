"""Benchmarks and their baselines: of a shipped engine spec, or imported from a folder."""

import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from evaluation.archive import Limits, UnsafeArchive, extract_folder
from evaluation.datastore import DataStoreError, datastore_put
from evaluation.engine.folders import BenchmarkFolderError, load_folder
from evaluation.engine.specs import SPECS
from evaluation.models import Benchmark, Submission
from evaluation.services.leaderboard import leaderboard_recompute
from evaluation.services.submissions import submission_create

Status = Submission.Status


def benchmark_get_or_create(
    *,
    slug: str,
    engine_spec: str,
    queue: str,
    seeds: int,
    byte_budget: int | None = None,
    name: str = "",
    description: str = "",
    practice: bool = True,
) -> Benchmark:
    """A benchmark for a shipped engine spec, with its baseline (the reference model, default
    config) queued the first time. Its text ships in the repository, so it is a practice
    benchmark unless a test says otherwise."""
    if engine_spec not in SPECS:
        raise ValidationError({"engine_spec": f"unknown engine spec {engine_spec!r}"})
    with transaction.atomic():
        benchmark, _created = Benchmark.objects.get_or_create(
            slug=slug,
            defaults={
                "engine_spec": engine_spec,
                "queue": queue,
                "seeds": seeds,
                "byte_budget": byte_budget,
                "name": name or slug,
                "description": description or SPECS[engine_spec].description,
                "practice": practice,
            },
        )
        if benchmark.baseline_id is None:
            _queue_baseline(benchmark)
    return benchmark


def _queue_baseline(benchmark: Benchmark) -> Submission:
    """The reference model with the default config, queued as the benchmark's baseline (of its
    current data version: `enqueue` stamps it)."""
    baseline = submission_create(
        benchmark=benchmark,
        contributor=None,
        source=Submission.Source.CONFIG,
        title="Baseline: the reference model",
        status=Status.QUEUED,
    )
    benchmark.baseline = baseline
    benchmark.save(update_fields=["baseline"])
    return baseline


def benchmark_reveal_test(*, benchmark: Benchmark) -> None:
    """Make the hidden test split's scores and ranking public (a maintainer's decision, once
    the validation ranking has settled)."""
    Benchmark.objects.filter(pk=benchmark.pk).update(test_revealed=True)
    benchmark.test_revealed = True


@dataclass(frozen=True)
class ImportOutcome:
    benchmark: Benchmark
    created: bool
    new_version: bool  # the data changed: a new version, ranked apart, with a new baseline
    stored_files: int


def benchmark_import(*, path: Path, update: bool = False, queue: str = "") -> ImportOutcome:
    """Import a benchmark folder (`benchmark.toml` and its data): validate it, store every
    file by sha256 in the data store, and create the benchmark, or with ``update`` change it.
    A change of data makes a new version (its results are never ranked with the old ones) and
    queues a new baseline. Refusals name the key or file (`ValidationError`)."""
    try:
        folder = load_folder(path)
    except BenchmarkFolderError as exc:
        raise ValidationError(str(exc)) from None
    definition = folder.definition
    try:
        for listed in folder.files.values():
            for item in listed:
                datastore_put(item.path, item.sha256)
    except DataStoreError as exc:
        raise ValidationError(str(exc)) from None
    stored = sum(len(listed) for listed in folder.files.values())
    spec = SPECS[definition["spec"]]
    with transaction.atomic():
        benchmark = Benchmark.objects.select_for_update().filter(slug=folder.slug).first()
        if benchmark is not None and not update:
            raise ValidationError(
                f"benchmark {folder.slug!r} exists; pass --update to change it (a change of "
                "data makes a new version)"
            )
        fields = {
            "name": definition["name"],
            "description": definition["description"],
            "engine_spec": definition["spec"],
            "practice": definition["practice"],
            "seeds": len(definition["settings"].get("seeds", spec.seeds)),
            "definition": definition,
        }
        if benchmark is None:
            benchmark = Benchmark.objects.create(
                slug=folder.slug,
                queue=queue or ("cpu" if spec.device == "cpu" else "gpu"),
                **fields,
            )
            _queue_baseline(benchmark)
            return ImportOutcome(benchmark, created=True, new_version=False, stored_files=stored)
        changed = _run_relevant(benchmark.definition) != _run_relevant(definition)
        for name, value in fields.items():
            setattr(benchmark, name, value)
        if queue:
            benchmark.queue = queue
        if changed:
            benchmark.data_version += 1
        benchmark.save()
        if changed:
            _queue_baseline(benchmark)
            leaderboard_recompute(benchmark=benchmark)
    return ImportOutcome(benchmark, created=False, new_version=changed, stored_files=stored)


def benchmark_import_archive(*, data: bytes, update: bool = False) -> ImportOutcome:
    """`benchmark_import` of an uploaded ``.tar.gz`` holding one benchmark folder (the admin's
    and the API's way in): extracted safely (no paths out, no links out, capped), then
    imported; the extracted copy is removed either way. Refusals name the ``archive``."""
    limits = Limits(
        max_bytes=settings.BENCHMARK_UPLOAD_MAX_BYTES, max_files=settings.BENCHMARK_UPLOAD_MAX_FILES
    )
    with tempfile.TemporaryDirectory(prefix="crucible-benchmark-") as tmp:
        try:
            extract_folder(data, folder="", dest=Path(tmp), limits=limits)
        except UnsafeArchive as exc:
            raise ValidationError({"archive": f"the archive was refused: {exc}"}) from None
        try:
            return benchmark_import(path=Path(tmp), update=update)
        except ValidationError as exc:
            raise ValidationError({"archive": exc.messages}) from None


def _run_relevant(definition: dict[str, object]) -> dict[str, object]:
    """What decides a score: the spec, its settings and config, and the data's digests (not
    the name, the description or the file names)."""
    data = definition.get("data") or {}
    assert isinstance(data, dict)
    return {
        "spec": definition.get("spec"),
        "settings": definition.get("settings"),
        "config": definition.get("config"),
        "data": {split: [f["sha256"] for f in files] for split, files in data.items()},
    }
