"""Benchmarks and their baselines."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from evaluation.engine.specs import SPECS
from evaluation.models import Benchmark, Submission
from evaluation.services.transitions import enqueue

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
) -> Benchmark:
    """A benchmark for an engine spec, with its baseline (the reference model, default config)
    queued the first time."""
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
            },
        )
        if benchmark.baseline_id is None:
            baseline = Submission.objects.create(
                benchmark=benchmark,
                contributor=None,
                source=Submission.Source.CONFIG,
                title="Baseline: the reference model",
                config={},
                status=Status.QUEUED,
                queued_at=timezone.now(),
                official=byte_budget is None,
            )
            benchmark.baseline = baseline
            benchmark.save(update_fields=["baseline"])
            enqueue(baseline)
    return benchmark
