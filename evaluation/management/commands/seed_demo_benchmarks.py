"""`manage.py seed_demo_benchmarks`: the demo-cpu benchmark (imported from its shipped folder,
`evaluation/benchmarks/demo-cpu/`: a practice benchmark), its baseline and two demo config
submissions, queued for the evaluation worker (`make run` trains them on CPU). Running it again
adds nothing."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from contrib.models import Contributor
from evaluation.models import Benchmark, Submission
from evaluation.services import benchmark_import, submission_create_config

DEMO_SUBMISSIONS = [
    ("ada-lovelace", "Higher learning rate", {"lr": 0.006, "warmup_frac": 0.1}),
    ("grace-hopper", "Wider, shallower", {"n_layer": 1, "n_embd": 192, "lr": 0.004}),
]


class Command(BaseCommand):
    help = "Seed the demo-cpu benchmark with its baseline and two demo submissions (queued)."

    def handle(self, *args: Any, **options: Any) -> None:
        benchmark = Benchmark.objects.filter(slug="demo-cpu").first()
        if benchmark is None:
            folder = settings.BASE_DIR / "evaluation" / "benchmarks" / "demo-cpu"
            benchmark = benchmark_import(path=folder, queue="cpu").benchmark
        queued = 0
        for login, title, config in DEMO_SUBMISSIONS:
            contributor = Contributor.objects.filter(login=login).first()
            if (
                contributor is None
                or Submission.objects.filter(
                    benchmark=benchmark, contributor=contributor, title=title
                ).exists()
            ):
                continue
            submission_create_config(
                benchmark=benchmark,
                contributor=contributor,
                config=config,
                title=title,
                check_quota=False,
            )
            queued += 1
        self.stdout.write(
            self.style.SUCCESS(
                f"Benchmark {benchmark.slug}: baseline #{benchmark.baseline_id}, "
                f"{queued} demo submissions queued for the CPU worker."
            )
        )
