"""`manage.py seed_demo_benchmarks`: the demo-cpu benchmark (imported from its shipped folder,
`evaluation/benchmarks/demo-cpu/`: a practice benchmark) with the demo's model repository and
its submission path, its baseline and two demo config submissions, queued for the evaluation
worker (`make run` trains them on CPU), and one uploaded code change waiting for a maintainer's
approval (approve it on its page or in the admin, and watch it train). Running it again adds
nothing."""

import io
import zipfile
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from contrib.models import Contributor, Repository
from evaluation.engine.passes import REFERENCE_DIR
from evaluation.models import Benchmark, Submission
from evaluation.services import benchmark_import, submission_create_config
from evaluation.services.submissions import submission_create_upload

DEMO_SUBMISSIONS = [
    ("ada-lovelace", "Higher learning rate", {"lr": 0.006, "warmup_frac": 0.1}),
    ("grace-hopper", "Wider, shallower", {"n_layer": 1, "n_embd": 192, "lr": 0.004}),
]
# Code waiting for approval: the reference model with a squared-ReLU MLP (modded-nanogpt's).
WAITING = ("alan-turing", "Squared ReLU in the MLP")
GELU = 'F.gelu(self.fc(self.norm2(x)), approximate="tanh")'
SQUARED_RELU = "F.relu(self.fc(self.norm2(x))).square()"


class Command(BaseCommand):
    help = "Seed the demo-cpu benchmark with its baseline and two demo submissions (queued)."

    def handle(self, *args: Any, **options: Any) -> None:
        benchmark = Benchmark.objects.filter(slug="demo-cpu").first()
        if benchmark is None:
            folder = settings.BASE_DIR / "evaluation" / "benchmarks" / "demo-cpu"
            benchmark = benchmark_import(path=folder, queue="cpu").benchmark
        model_repository = Repository.objects.filter(role=Repository.Role.MODEL).first()
        if benchmark.model_repository is None and model_repository is not None:
            benchmark.model_repository = model_repository
            benchmark.submission_path = benchmark.submission_path or f"submissions/{benchmark.slug}"
            benchmark.save(update_fields=["model_repository", "submission_path"])
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
        waiting = self._waiting_upload(benchmark)
        self.stdout.write(
            self.style.SUCCESS(
                f"Benchmark {benchmark.slug}: baseline #{benchmark.baseline_id}, "
                f"{queued} demo submissions queued for the CPU worker"
                + (f", #{waiting.pk} waiting for approval." if waiting else ".")
            )
        )

    def _waiting_upload(self, benchmark: Benchmark) -> Submission | None:
        login, title = WAITING
        contributor = Contributor.objects.filter(login=login).first()
        if contributor is None or Submission.objects.filter(contributor=contributor, title=title):
            return None
        model = (REFERENCE_DIR / "model.py").read_text()
        assert GELU in model, "the reference model changed: update the demo's waiting upload"
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as packed:
            packed.writestr("model.py", model.replace(GELU, SQUARED_RELU))
        return submission_create_upload(
            benchmark=benchmark,
            contributor=contributor,
            archive=archive.getvalue(),
            title=title,
            check_quota=False,
        )
