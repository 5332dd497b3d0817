"""Webhook intake throughput: signed `pull_request` deliveries at concurrency against gunicorn on
loopback, next to a bare Django view on the same server in the same run (the stack's ceiling).

Prints deliveries/s and p50/p99 latency for both, their ratio, and a final count proving each
delivery was stored exactly once (10% of the requests are redeliveries of an earlier id).
Uses DATABASE_URL if set (PostgreSQL), else a fresh SQLite file. BENCH_REQUESTS (6000),
BENCH_ROUNDS (3), BENCH_CONCURRENCY (8) and BENCH_WEB_WORKERS (2) change the load.
"""

import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from contrib.github.signature import signature_for  # noqa: E402
from tests.support.processes import gunicorn, platform_env  # noqa: E402

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "6000"))
# The two are measured in turns (bare, webhook, bare, …) on slices of the requests, so that a
# machine that gets busier or quieter during the run weighs on both alike.
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "8"))
WEB_WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", "2"))
SECRET = "bench-secret"


def run_load(url: str, bodies: list[tuple[str, bytes]]) -> tuple[float, list[float], list[int]]:
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    cursor = iter(range(len(bodies)))

    def worker() -> None:
        while True:
            with lock:
                index = next(cursor, None)
            if index is None:
                return
            delivery_id, body = bodies[index]
            request = urllib.request.Request(
                url,
                data=body,
                method="POST",
                headers={
                    "Content-Type": "application/json",
                    "X-GitHub-Event": "pull_request",
                    "X-GitHub-Delivery": delivery_id,
                    "X-Hub-Signature-256": signature_for(secret=SECRET, body=body),
                },
            )
            started = time.perf_counter()
            with urllib.request.urlopen(request, timeout=60) as response:
                response.read()
                status = response.status
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                statuses.append(status)

    threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies, statuses


def describe(name: str, seconds: float, latencies: list[float]) -> float:
    rate = len(latencies) / seconds
    cuts = statistics.quantiles(latencies, n=100)
    print(
        f"{name:<28} {rate:9.1f} req/s   p50 {cuts[49] * 1000:7.2f} ms   "
        f"p99 {cuts[98] * 1000:7.2f} ms"
    )
    return rate


def main() -> None:
    payload = json.loads((ROOT / "tests/fixtures/github/pull_request.opened.json").read_text())
    with tempfile.TemporaryDirectory(prefix="crucible-bench-") as var_dir:
        env = platform_env(
            DJANGO_SETTINGS_MODULE="benchmarks.bench_settings",
            CRUCIBLE_VAR_DIR=var_dir,
            SECRET_KEY=secrets.token_urlsafe(50),
            SECURE_SSL_REDIRECT="false",
            ALLOWED_HOSTS="127.0.0.1",
            GITHUB_WEBHOOK_SECRET=SECRET,
            CELERY_BROKER_URL="filesystem://",
            CELERY_TASK_ALWAYS_EAGER="false",
        )
        env["DJANGO_SETTINGS_MODULE"] = "benchmarks.bench_settings"
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True
        )
        unique = REQUESTS - REQUESTS // 10
        ids = [f"bench-{n}" for n in range(unique)]
        for n in range(REQUESTS - unique):  # redeliveries of ids sent earlier in the same slice
            ids.insert(len(ids) * (n + 1) // (REQUESTS - unique + 1), ids[n])
        bodies = [(delivery_id, json.dumps(payload).encode()) for delivery_id in ids]
        database = "PostgreSQL" if "postgres" in env.get("DATABASE_URL", "") else "SQLite"
        print(
            f"{REQUESTS} requests in {ROUNDS} rounds, concurrency {CONCURRENCY}, "
            f"gunicorn {WEB_WORKERS} sync workers, {database}, {os.cpu_count()} CPUs"
        )
        with gunicorn(env, workers=WEB_WORKERS) as base_url:
            run_load(f"{base_url}/bench/bare/", bodies[:100])  # warm-up
            bare_s, hook_s = 0.0, 0.0
            bare_lat, hook_lat, statuses = [], [], []
            size = -(-len(bodies) // ROUNDS)
            for start in range(0, len(bodies), size):
                part = bodies[start : start + size]
                seconds, latencies, _ = run_load(f"{base_url}/bench/bare/", part)
                bare_s, bare_lat = bare_s + seconds, bare_lat + latencies
                seconds, latencies, answers = run_load(f"{base_url}/webhooks/github/", part)
                hook_s, hook_lat, statuses = (
                    hook_s + seconds,
                    hook_lat + latencies,
                    statuses + answers,
                )
        bare_rate = describe("bare Django view", bare_s, bare_lat)
        hook_rate = describe("POST /webhooks/github/", hook_s, hook_lat)
        print(f"webhook / bare throughput ratio: {hook_rate / bare_rate:.2f}")
        count = subprocess.run(
            [
                sys.executable,
                "manage.py",
                "shell",
                "-c",
                "from contrib.models import WebhookDelivery as D;"
                "print(D.objects.count(), D.objects.values('delivery_id').distinct().count())",
            ],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()[-2:]
        accepted, duplicates = statuses.count(202), statuses.count(200)
        print(
            f"answers: {accepted} × 202 queued, {duplicates} × 200 duplicate; "
            f"stored rows {count[0]} for {unique} distinct delivery ids"
        )
        if int(count[0]) != unique or accepted != unique:
            sys.exit("FAILED: deliveries were not stored exactly once")
        print("every delivery stored exactly once")


if __name__ == "__main__":
    main()
