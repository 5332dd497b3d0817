"""README badges, the contributors wall and the cards of shared links, served from the cache:
p50 and p99 of `GET` through gunicorn (2 workers, production settings, the database cache on a
fresh SQLite file) against the bare Django view on the same server in the same run. The issue's
goal: under 20 ms p50 from the cache. 2,000 contributors with 20,000 ledger rows and a board of
500 scored submissions stand behind them (the first request of each computes it)."""

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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
REQUESTS = int(os.environ.get("BENCH_PAGE_REQUESTS", "200"))


def main() -> None:
    env = {
        "DJANGO_SETTINGS_MODULE": "benchmarks.bench_settings",
        "CRUCIBLE_VAR_DIR": tempfile.mkdtemp(prefix="crucible-bench-pages-"),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "PLATFORM_URL": "https://crucible.test",
    }
    os.environ.update(env)
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("CACHE_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    subprocess.run([sys.executable, "manage.py", "createcachetable"], cwd=ROOT, check=True)
    import django

    django.setup()
    _seed()
    from tests.support.processes import gunicorn, platform_env

    paths = {
        "bare view": "/bench/bare/",
        "badge: contributor": "/badges/c/bench7.svg",
        "badge: record": "/badges/record/bench.svg",
        "badge: holder": "/badges/c/bench7/record/bench.svg",
        "wall (svg)": "/contributors/wall.svg",
        "wall (markdown)": "/contributors/wall.md",
        "card: profile": "/cards/c/bench7.png",
        "card: leaderboard": "/cards/record/bench.png",
    }
    with gunicorn(platform_env(**env), workers=2) as url:
        for name, path in paths.items():
            started = time.perf_counter()
            _get(url + path)  # computes it (and caches it)
            first = time.perf_counter() - started
            times = []
            for _ in range(REQUESTS):
                started = time.perf_counter()
                _get(url + path)
                times.append(time.perf_counter() - started)
            cuts = statistics.quantiles(times, n=100)
            print(
                f"{name:20} first {first * 1000:7.1f} ms; from the cache p50 "
                f"{cuts[49] * 1000:5.1f} ms, p99 {cuts[98] * 1000:5.1f} ms over {REQUESTS}"
            )


def _get(url: str) -> None:
    with urllib.request.urlopen(url, timeout=30) as answer:
        answer.read()


def _seed() -> None:
    from django.utils import timezone

    from contrib.ledger import contribution_record
    from contrib.models import ContributionKind, Contributor
    from evaluation.models import Benchmark, Submission
    from evaluation.services import leaderboard_recompute

    rng = random.Random(11)
    Contributor.objects.bulk_create(
        Contributor(login=f"bench{n}", github_id=9_500_000 + n) for n in range(2000)
    )
    people = list(Contributor.objects.all())
    kinds = list(ContributionKind.values)
    now = timezone.now()
    for n in range(20_000):
        contribution_record(
            contributor=rng.choice(people),
            kind=rng.choice(kinds),
            occurred_at=now,
            source="manual",
            external_id=f"bench:{n}",
        )
    benchmark = Benchmark.objects.create(slug="bench", name="Bench", engine_spec="demo-cpu")
    Submission.objects.bulk_create(
        Submission(
            benchmark=benchmark,
            contributor=rng.choice(people),
            source="config",
            status="scored",
            result_attempt=1,
            mean_val_bpb=rng.uniform(2.0, 4.0),
            ci_val_bpb=0.01,
            is_record=n % 50 == 0,
            finished_at=now,
        )
        for n in range(500)
    )
    leaderboard_recompute(benchmark=benchmark)


if __name__ == "__main__":
    main()
