"""The evaluation pipeline's own overhead around the engine, with real processes: gunicorn, a
Celery worker on `default` (deliveries, intake, GitHub answers) and an evaluation worker on `cpu`
(`python -m evaluation.agent`: its token, the platform's URL and the broker's only), the fake
GitHub of the tests on loopback.

1. Webhook accepted (the 202 at the sender) → engine starting (the run row's `started_at`), and
   score written (the submission's `finished_at`) → commit status posted (the fake GitHub's
   arrival time), per pull request, on Kombu's file-system broker and on Redis.
2. The worker API: a benchmark's data fetched by an evaluation worker over HTTP (MB/s, into an
   empty cache and again with every file cached) against copying the same file on the platform's
   own disk, and a heartbeat's round trip against a bare Django view on the same gunicorn.
3. `GET /api/benchmarks/<slug>/leaderboard/` latency with 10,000 scored submissions (2,000
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
        if os.environ.get("BENCH_PIPELINE_ONLY") == "leaderboard":  # the board alone, quickly
            _leaderboard(benchmark)
            return
        print(f"{PRS} pull requests per broker, one at a time; {os.cpu_count()} CPUs")
        print(f"{'broker':<12} {'webhook → engine start':>28} {'score → status posted':>28}")
        _pipeline("filesystem", "filesystem://", fake, benchmark)
        reason = servers.redis_missing()
        if reason:
            print(f"Redis skipped: {reason}")
        else:
            with servers.redis_server() as redis_url:
                _pipeline("redis", redis_url, fake, benchmark)
        _worker_api()
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
        benchmark=benchmark, source="config", status="scored", mean_val_bpb=9.0, result_attempt=1
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
        submission_files,
    )
    from tests.support.processes import celery_worker, evaluation_worker, gunicorn, platform_env

    env = platform_env(**{**env_now(), "CELERY_BROKER_URL": broker_url})
    env["DJANGO_SETTINGS_MODULE"] = "benchmarks.bench_settings"
    to_engine, to_status = [], []
    with (
        gunicorn(env, workers=2) as base_url,
        celery_worker(env, queues="default", concurrency=1, pool="solo"),
        evaluation_worker(base_url, broker_url, var_dir=env["CRUCIBLE_VAR_DIR"]),
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


DATA_MB = int(os.environ.get("BENCH_DATA_MB", "256"))


def _worker_api() -> None:
    import shutil

    from evaluation.agent.cache import DataCache
    from evaluation.agent.client import HttpTransport, Platform
    from evaluation.datastore import data_dir
    from evaluation.engine.folders import stored_path
    from evaluation.services import benchmark_import, worker_create
    from tests.support.benchmark_folder import make_benchmark_folder
    from tests.support.processes import gunicorn, platform_env

    folder = make_benchmark_folder(Path(tempfile.mkdtemp(prefix="crucible-bench-data-")))
    # One big training file of incompressible bytes, so the transfer is what is measured.
    with (folder / "train" / "big.txt").open("wb") as out:
        for _ in range(DATA_MB):
            out.write(random.randbytes(1 << 20))
    benchmark = benchmark_import(path=folder, queue="cpu").benchmark
    definition = benchmark.definition
    size = sum(f["size"] for files in definition["data"].values() for f in files)
    biggest = max(
        (f for files in definition["data"].values() for f in files), key=lambda f: f["size"]
    )
    _worker, key = worker_create(name=f"bench-{secrets.token_hex(4)}", queues=["cpu"])
    env = platform_env(**env_now())
    env["DJANGO_SETTINGS_MODULE"] = "benchmarks.bench_settings"
    scratch = Path(tempfile.mkdtemp(prefix="crucible-bench-cache-"))
    with gunicorn(env, workers=2) as base_url:
        platform = Platform(token=key, transport=HttpTransport(base_url))
        cache = DataCache(scratch / "cache", max_bytes=4 * size)
        started = time.perf_counter()
        cache.ensure(definition, platform.data)
        cold = time.perf_counter() - started
        started = time.perf_counter()
        cache.ensure(definition, platform.data)
        cached = time.perf_counter() - started
        started = time.perf_counter()
        shutil.copyfile(stored_path(data_dir(), biggest["sha256"]), scratch / "copy")
        local = (time.perf_counter() - started) * size / biggest["size"]
        beats, bares = [], []
        submission = benchmark.baseline
        platform.claim(submission.pk)
        run = platform.run_start(submission.pk, benchmark.definition["settings"]["seeds"][0])
        bare = urllib.request.Request(f"{base_url}/bench/bare/", data=b"{}", method="POST")
        for index in range(420):
            started = time.perf_counter()
            platform.heartbeat(run, progress_bytes=index, loss=1.0)
            beat = time.perf_counter() - started
            started = time.perf_counter()
            with urllib.request.urlopen(bare, timeout=30) as response:
                response.read()
            if index >= 20:
                beats.append(beat)
                bares.append(time.perf_counter() - started)
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.rmtree(folder, ignore_errors=True)
    mb = size / 1e6
    files = sum(len(files) for files in definition["data"].values())
    print(
        f"worker data fetch: {mb:,.0f} MB in {files} files, cold {mb / cold:,.0f} MB/s (HTTP, "
        f"sha256 checked, fsynced) vs a local disk copy {mb / local:,.0f} MB/s: "
        f"{local / cold:.2f}x; cached: {cached * 1000:.1f} ms for the lot (no transfer)"
    )
    beat_ms, bare_ms = statistics.median(beats) * 1000, statistics.median(bares) * 1000
    print(
        f"worker heartbeat: median {beat_ms:.1f} ms per call, bare view {bare_ms:.1f} ms: "
        f"API overhead {beat_ms - bare_ms:.1f} ms ({bare_ms / beat_ms:.2f}x the bare view's "
        f"speed) over {len(beats)} calls"
    )


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
                result_attempt=1,
                mean_val_bpb=rng.uniform(2.0, 4.0),
                std_val_bpb=0.01,
                ci_val_bpb=rng.uniform(0.001, 0.05),  # the interval and tie logic at work
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
    tied = LeaderboardEntry.objects.filter(benchmark=benchmark, tied=True).count()
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
        f"leaderboard: {SUBMISSIONS:,} scored submissions, {rows:,} rows ({tied:,} tied); "
        f"recompute "
        f"{recompute * 1000:.0f} ms; GET (pages 1 and 20) p50 {cuts[49] * 1000:.1f} ms, "
        f"p99 {cuts[98] * 1000:.1f} ms over {len(latencies)} requests"
    )


if __name__ == "__main__":
    main()
