"""`manage.py evaluate_local BENCHMARK_SLUG FOLDER [--seed N] [--json]`: the worker's sandboxed
engine path on a local folder, without GitHub or the queue, for maintainers and debugging."""

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from evaluation.agent.engine_process import engine_run
from evaluation.datastore import data_dir
from evaluation.models import Benchmark


class Command(BaseCommand):
    help = "Train and score a local submission folder as a worker would, and print the result."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("benchmark")
        parser.add_argument("folder", type=Path)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--json", action="store_true", help="print the full JSON result")

    def handle(
        self, *args: Any, benchmark: str, folder: Path, seed: int, json: bool, **options: Any
    ) -> None:
        found = Benchmark.objects.filter(slug=benchmark).first()
        if found is None:
            known = ", ".join(Benchmark.objects.values_list("slug", flat=True)) or "none"
            raise CommandError(f"no benchmark {benchmark!r} (known: {known})")
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder")

        def progress(done: int | None, loss: float | None) -> bool:
            if done is not None and not json:
                self.stderr.write(f"\r{done:,} bytes  loss {loss or float('nan'):.4f}", ending="")
            return True

        outcome = engine_run(
            spec=found.engine_spec,
            definition=found.definition or None,
            data_dir=data_dir(),
            folder=folder,
            seed=seed,
            byte_budget=found.byte_budget,
            on_progress=progress,
            timeout=settings.EVALUATION_RUN_TIMEOUT,
        )
        result = outcome.result
        if json:
            self.stdout.write(_dumps(result or {"status": "failed", "log": outcome.output_tail}))
        elif result.get("status") == "ok":
            self.stdout.write(
                self.style.SUCCESS(
                    f"\n{found.slug} seed {seed}: val_bits_per_byte "
                    f"{result['val_bits_per_byte']:.4f} ({result.get('param_count', 0):,} params, "
                    f"{result.get('bytes_per_second', 0):,.0f} bytes/s on {result.get('device')})"
                )
            )
        else:
            raise CommandError(
                f"{result.get('status', 'failed')}: {result.get('error') or outcome.output_tail}"
            )


def _dumps(value: Any) -> str:
    return json.dumps(value, indent=2)
