"""`manage.py benchmark_import PATH [--update] [--queue Q]`: import a benchmark folder
(`benchmark.toml` and its data) into the platform; README, "Benchmark folders"."""

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from evaluation.services import benchmark_import


class Command(BaseCommand):
    help = "Validate a benchmark folder, store its data by sha256, and create or update it."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path", type=Path, help="the folder holding benchmark.toml")
        parser.add_argument(
            "--update",
            action="store_true",
            help="change an existing benchmark (new data: a new version, ranked apart)",
        )
        parser.add_argument("--queue", default="", help="worker queue (default: cpu or gpu)")

    def handle(self, *args: Any, path: Path, update: bool, queue: str, **options: Any) -> None:
        if not path.is_dir():
            raise CommandError(f"{path} is not a folder")
        try:
            outcome = benchmark_import(path=path, update=update, queue=queue)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        benchmark = outcome.benchmark
        if outcome.created:
            what = "created"
        elif outcome.new_version:
            what = f"updated to data version {benchmark.data_version} (a new baseline is queued)"
        else:
            what = "updated (same data: same version)"
        kind = "practice" if benchmark.practice else "held-out data private"
        self.stdout.write(
            self.style.SUCCESS(
                f"Benchmark {benchmark.slug} {what}: {outcome.stored_files} files in the data "
                f"store, queue {benchmark.queue}, {kind}."
            )
        )
