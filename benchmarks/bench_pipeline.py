"""The evaluation pipeline's own overhead around the engine, with real processes: gunicorn, a
Celery worker on `default` (deliveries, intake, GitHub answers) and one on `cpu` (the engine),
the fake GitHub of the tests on loopback.

1. Webhook accepted (the 202 at the sender) → engine starting (the run row's `started_at`), and
   score written (the submission's `finished_at`) → commit status posted (the fake GitHub's
   arrival time), per pull request, on Kombu's file-system broker and on Redis.
2. `GET /api/benchmarks/<slug>/leaderboard/` latency with 10,000 scored submissions (2,000
   contributors), and the time to recompute that leaderboard when a score lands.

Uses a fresh SQLite file (DATABASE_URL if set). BENCH_PRS pull requests per broker (default 3;
each trains the reference model on a tiny budget, seconds each).
"""

import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PRS = int(os.environ.get("BENCH_PRS", "3"))
SUBMISSIONS = 10_000
CONTRIBUTORS = 2_000
SECRET = "bench-secret"


def main() -> None:
    var_dir = tempfile.mkdtemp(prefix="crucible-bench-pipeline-")
    env = {
        "DJANGO_SETTINGS_MODULE": "benchmarks.bench_settings",
        "CRUCIBLE_VAR_DIR": var_dir,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "GITHUB_WEBHOOK_SECRET": SECRET,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "GITHUB_TOKEN": "test-token",
        "GITHUB_TIMEOUT": "5",
        "GITHUB_SECONDS_BETWEEN_WRITES": "0",
        "PLATFORM_URL": "https://crucible.test",
    }
    os.environ.update(env)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)

    import django

    django.setup()
    from tests.evaluation.conftest import ModelRepoGitHub
    from tests.support import servers

    class TimedGitHub(ModelRepoGitHub):
        """The fake, noting when each commit status arrives."""

        status_times: dict[tuple[str, str], float]

        def handle(self, method: str, path: str, query: dict[str, str], body: Any) -> Any:
            if method == "POST" and "/statuses/" in path and isinstance(body, dict):
                self.status_times[(path.rsplit("/", 1)[1], body.get("state", ""))] = time.time()
            return super().handle(method, path, query, body)

    fake = TimedGitHub()
    fake.status_times = {}
    fake.start()
    os.environ["GITHUB_API_URL"] = fake.api_url
    try:
        benchmark = _setup(fake)
        print(f"{PRS} pull requests per broker, one at a time; {os.cpu_count()} CPUs")
        print(f"{'broker':<12} {'webhook → engine start':>28} {'score → status posted':>28}")
        _pipeline("filesystem", "filesystem://", fake, benchmark)
        reason = servers.redis_missing()
        if reason:
            print(f"Redis skipped: {reason}")
        else:
            with servers.redis_server() as redis_url:
                _pipeline("redis", redis_url, fake, benchmark)
        _leaderboard(benchmark)
    finally:
        fake.stop()


def _setup(fake: Any) -> Any:
    from contrib.models import Repository
    from evaluation.models import Benchmark, Submission
    from tests.evaluation.conftest import FULL_NAME, REPO_ID

    fake.user("Codertocat", user_id=21031067)
    fake.repo(FULL_NAME, repo_id=REPO_ID)
    fake.user("maintainer")
    fake.set_permission(FULL_NAME, "maintainer", "write")
    repository = Repository.objects.create(
        full_name=FULL_NAME, github_id=REPO_ID, tracked=True, role=Repository.Role.MODEL
    )
    benchmark = Benchmark.objects.create(
        slug="demo", engine_spec="demo-cpu", queue="cpu", seeds=1, byte_budget=4096,
        model_repository=repository, submission_path="submissions/demo",
    )  # fmt: skip
    benchmark.baseline = Submission.objects.create(
        benchmark=benchmark, source="config", status="scored", mean_val_bpb=9.0
    )
    benchmark.save()
    return benchmark


def _ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:7.0f} ms (max {max(values) * 1000:6.0f})"


def _pipeline(name: str, broker_url: str, fake: Any, benchmark: Any) -> None:
    from contrib.github.signature import signature_for
    from evaluation.models import Submission
    from tests.evaluation.conftest import (
        FULL_NAME,
        open_pull,
        pull_request_payload,
        solo_worker,
        submission_files,
    )
    from tests.support.processes import gunicorn, platform_env

    env = platform_env(**{**env_now(), "CELERY_BROKER_URL": broker_url})
    env["DJANGO_SETTINGS_MODULE"] = "benchmarks.bench_settings"
    to_engine, to_status = [], []
    with (
        gunicorn(env, workers=2) as base_url,
        solo_worker(env, queues="default"),
        solo_worker(env, queues="cpu"),
    ):
        for _ in range(PRS):
            sha = f"{random.getrandbits(160):040x}"
            number = open_pull(fake, user="maintainer", sha=sha)
            fake.set_archive(FULL_NAME, sha, submission_files())
            body = json.dumps(pull_request_payload(fake, number=number)).encode()
            request = urllib.request.Request(
                f"{base_url}/webhooks/github/",
                data=body,
                method="POST",
                headers={
                    "Content-Type": "application/json",
                    "X-GitHub-Event": "pull_request",
                    "X-GitHub-Delivery": f"bench-{sha}",
                    "X-Hub-Signature-256": signature_for(secret=SECRET, body=body),
                },
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                assert response.status == 202
                accepted = time.time()
            deadline = time.monotonic() + 300
            while (sha, "success") not in fake.status_times:
                failed = Submission.objects.filter(head_sha=sha, status="failed").first()
                if failed is not None:
                    sys.exit(f"FAILED: {failed.reason}")
                if time.monotonic() > deadline:
                    sys.exit(f"FAILED: no success status for {sha[:7]} after 300 s")
                time.sleep(0.05)
            submission = Submission.objects.get(head_sha=sha)
            run = submission.runs.get()
            assert run.started_at is not None and submission.finished_at is not None
            to_engine.append(run.started_at.timestamp() - accepted)
            to_status.append(
                fake.status_times[(sha, "success")] - submission.finished_at.timestamp()
            )
    print(f"{name:<12} {_ms(to_engine):>28} {_ms(to_status):>28}")


def env_now() -> dict[str, str]:
    keys = [
        "CRUCIBLE_VAR_DIR", "SECRET_KEY", "SECURE_SSL_REDIRECT", "ALLOWED_HOSTS",
        "GITHUB_WEBHOOK_SECRET", "CELERY_TASK_ALWAYS_EAGER", "GITHUB_TOKEN", "GITHUB_TIMEOUT",
        "GITHUB_SECONDS_BETWEEN_WRITES", "PLATFORM_URL", "GITHUB_API_URL", "DATABASE_URL",
    ]  # fmt: skip
    return {key: os.environ[key] for key in keys if key in os.environ}


def _leaderboard(benchmark: Any) -> None:
    from django.utils import timezone

    from contrib.models import Contributor
    from evaluation.models import LeaderboardEntry, Submission
    from evaluation.services import leaderboard_recompute
    from tests.support.processes import gunicorn, platform_env

    rng = random.Random(7)
    Contributor.objects.bulk_create(
        Contributor(login=f"bench{n}", github_id=9_000_000 + n) for n in range(CONTRIBUTORS)
    )
    ids = list(Contributor.objects.filter(login__startswith="bench").values_list("pk", flat=True))
    now = timezone.now()
    Submission.objects.bulk_create(
        (
            Submission(
                benchmark=benchmark,
                contributor_id=rng.choice(ids),
                source="config",
                status="scored",
                mean_val_bpb=rng.uniform(2.0, 4.0),
                std_val_bpb=0.01,
                finished_at=now,
            )
            for _ in range(SUBMISSIONS)
        ),
        batch_size=1000,
    )
    started = time.perf_counter()
    leaderboard_recompute(benchmark=benchmark)
    recompute = time.perf_counter() - started
    rows = LeaderboardEntry.objects.filter(benchmark=benchmark).count()
    env = platform_env(**env_now())
    env["DJANGO_SETTINGS_MODULE"] = "benchmarks.bench_settings"
    latencies = []
    with gunicorn(env, workers=2) as base_url:
        url = f"{base_url}/api/benchmarks/{benchmark.slug}/leaderboard/"
        for index in range(220):
            page = "" if index % 2 == 0 else "?page=20"
            started = time.perf_counter()
            with urllib.request.urlopen(url + page, timeout=30) as response:
                response.read()
            if index >= 20:  # warm-up
                latencies.append(time.perf_counter() - started)
    cuts = statistics.quantiles(latencies, n=100)
    print(
        f"leaderboard: {SUBMISSIONS:,} scored submissions, {rows:,} rows; recompute "
        f"{recompute * 1000:.0f} ms; GET (pages 1 and 20) p50 {cuts[49] * 1000:.1f} ms, "
        f"p99 {cuts[98] * 1000:.1f} ms over {len(latencies)} requests"
    )


if __name__ == "__main__":
    main()
