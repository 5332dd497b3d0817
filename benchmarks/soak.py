"""`make soak`: the platform as it runs in production, under steady mixed traffic while its parts
fail, then checked.

On this machine it starts PostgreSQL, Redis (append-only, as a production broker), the local
GitHub-compatible server, gunicorn, the platform's `default` Celery worker, beat and an
evaluation worker (`python -m evaluation.agent`, with its token, the platform's URL and the
broker's only). Locust (headless, `benchmarks/soak_traffic.py`) sends signed webhooks of every
mapped event, page views and API reads, config submissions and bot commands for SOAK_MINUTES
(default 10). Meanwhile faults are injected on a schedule, each for a bounded time
(`benchmarks/soak_faults.py`). Then the traffic stops, the platform is given time to drain,
and the invariants are checked and printed (`benchmarks/soak_checks.py`). Exit status 1 if one
fails; the last line begins `soak:` with the totals.
"""

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.soak_checks import check_and_report, drain  # noqa: E402
from benchmarks.soak_faults import Platform, run_schedule, schedule, supervise  # noqa: E402
from tests.github_server.server import FakeGitHub  # noqa: E402
from tests.support.benchmark_folder import make_benchmark_folder  # noqa: E402
from tests.support.processes import BIN, Service, platform_env  # noqa: E402
from tests.support.servers import (  # noqa: E402
    PostgresServer,
    RedisServer,
    free_port,
    postgres_missing,
    redis_missing,
    wait_for_port,
)

MINUTES = float(os.environ.get("SOAK_MINUTES", "10"))
USERS = int(os.environ.get("SOAK_USERS", "16"))
SECRET = secrets.token_urlsafe(24)
REPOSITORY = {
    "id": 186853002, "node_id": "MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=", "name": "Hello-World",
    "full_name": "Codertocat/Hello-World", "private": False,
    "owner": {"login": "Codertocat", "id": 21031067, "type": "User"},
    "html_url": "https://github.com/Codertocat/Hello-World", "default_branch": "master",
}  # fmt: skip
MAINTAINER = {"login": "soak-maintainer", "id": 990001, "type": "User"}
PEOPLE = [{"login": f"soak-person-{n}", "id": 990100 + n, "type": "User"} for n in range(24)]


def fake_github() -> FakeGitHub:
    github = FakeGitHub().start()
    github.user(MAINTAINER["login"], user_id=MAINTAINER["id"])
    github.repo(REPOSITORY["full_name"], repo_id=REPOSITORY["id"])
    github.set_permission(REPOSITORY["full_name"], MAINTAINER["login"], "maintain")
    return github


def bot_issues(github: FakeGitHub) -> list[int]:
    return [
        int(github.issue(REPOSITORY["full_name"], title=f"Soak issue {n}", user="soak-maintainer")[
            "number"
        ])
        for n in range(5)
    ]  # fmt: skip


def seed(work: Path) -> dict[str, Any]:
    """The tracked repository, a benchmark with tiny settings, members with tokens and
    sessions, and a worker token; through the platform's own services."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore

    from accounts.services import api_token_create
    from contrib.models import Repository
    from evaluation.models import Benchmark
    from evaluation.services import benchmark_import, worker_create

    Repository.objects.update_or_create(
        github_id=REPOSITORY["id"],
        defaults={"full_name": REPOSITORY["full_name"], "tracked": True},
    )
    folder = make_benchmark_folder(work / "benchmark", slug="soak")
    benchmark = benchmark_import(path=folder, queue="cpu").benchmark
    Benchmark.objects.filter(pk=benchmark.pk).update(daily_quota=2)
    members = []
    for n in range(3):
        user = User.objects.create_user(f"soak-member-{n}", password=secrets.token_urlsafe(16))
        _token, key = api_token_create(user=user, name="soak")
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        members.append({"token": key, "session": session.session_key})
    _worker, worker_key = worker_create(name="soak-cpu", queues=["cpu"])
    return {"benchmark": benchmark.slug, "members": members, "worker_key": worker_key}


def warm_up(base_url: str, benchmark: str) -> None:
    """What a deploy's readiness check does: every page and API read answered a few times by
    each web process (imports, compiled templates, connections), before traffic is measured."""
    paths = [
        "/", "/honors/", f"/leaderboard/{benchmark}/", f"/c/{PEOPLE[0]['login']}/", "/issues/",
        "/submissions/", "/api/contributors/", "/api/honor-rolls/", "/api/submissions/",
        f"/api/benchmarks/{benchmark}/leaderboard/",
    ]  # fmt: skip
    for _round in range(8):
        for path in paths:
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"{base_url}{path}", timeout=30).close()


def disk(work: Path) -> Path | None:
    """A 256 MB file system of the evaluation worker's own (its cache and temporary files),
    which the disk-full fault fills; None where this machine cannot mount one."""
    mount = work / "evaluator-disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256m", "tmpfs", str(mount)], capture_output=True
    )
    return mount if done.returncode == 0 else None


def main() -> None:
    for missing in (postgres_missing(), redis_missing()):
        if missing:
            sys.exit(f"soak: cannot run: {missing}")
    seconds = int(MINUTES * 60)
    work = Path(tempfile.mkdtemp(prefix="crucible-soak-"))
    postgres, redis = PostgresServer(), RedisServer(persist=True)
    github = fake_github()
    services: list[Service] = []
    stop = threading.Event()
    locust: subprocess.Popen[bytes] | None = None
    failed = True
    evaluator_disk = disk(work)
    try:
        postgres.start()
        postgres.create_database()
        redis.start()
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        env = platform_env(
            DJANGO_SETTINGS_MODULE="config.settings.production",
            SECRET_KEY=secrets.token_urlsafe(50),
            ALLOWED_HOSTS="127.0.0.1",
            SECURE_SSL_REDIRECT="false",
            PROXY_COUNT="0",
            DATABASE_URL=postgres.url,
            CELERY_BROKER_URL=redis.url,
            CACHE_URL=redis.url.rsplit("/", 1)[0] + "/1",
            CRUCIBLE_VAR_DIR=str(work / "var"),
            PLATFORM_URL=base_url,
            GITHUB_WEBHOOK_SECRET=SECRET,
            GITHUB_API_URL=github.api_url,
            GITHUB_TOKEN="test-token",  # noqa: S106 - the local GitHub's
            GITHUB_TIMEOUT="5",
            GITHUB_SECONDS_BETWEEN_WRITES="0",
            GITHUB_SECONDARY_RATE_WAIT="5",
            # What a lost message waits for before the beat sends it again, shortened from
            # minutes so that a fault's recovery fits in the soak (README, "Configuration").
            GITHUB_REQUEUE_AFTER="20",
            EVALUATION_HEARTBEAT_TIMEOUT="30",
            EVALUATION_REDISPATCH_AFTER="30",
            LOGIN_FAILURE_LIMIT="1000",
        )
        os.environ.update(env)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        call_command("collectstatic", verbosity=0, interactive=False)  # the release step
        seeded = seed(work)
        issues = bot_issues(github)

        agent_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/root"),
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "PLATFORM_URL": base_url,
            "CRUCIBLE_WORKER_TOKEN": seeded["worker_key"],
            "CELERY_BROKER_URL": redis.url,
        }
        if evaluator_disk is not None:
            agent_env |= {"CRUCIBLE_WORKER_CACHE": str(evaluator_disk / "cache"),
                          "TMPDIR": str(evaluator_disk),
                          "CRUCIBLE_WORKER_MIN_FREE_MB": "64"}  # fmt: skip
        celery = [str(BIN / "celery"), "-A", "config.celery_app"]
        web = Service("web", [str(BIN / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}",
                              "--workers", "3", "--timeout", "30", "--graceful-timeout", "20"],
                      env)  # fmt: skip
        worker = Service("worker", [*celery, "worker", "-Q", "default", "--concurrency", "2",
                                    "--loglevel", "INFO", "--hostname", f"soak-{port}@%h"],
                         env)  # fmt: skip
        beat = Service("beat", [*celery, "beat", "--loglevel", "INFO",
                                "--schedule", str(work / "beat-schedule")], env)  # fmt: skip
        evaluator = Service("evaluator", [sys.executable, "-m", "evaluation.agent"], agent_env)
        services = [web, worker, beat, evaluator]
        for service in services:
            service.start()
        wait_for_port(port, timeout=60)
        warm_up(base_url, seeded["benchmark"])

        requests_log, deliveries_log = work / "requests.jsonl", work / "deliveries.jsonl"
        config = {
            "secret": SECRET, "repository": REPOSITORY, "people": PEOPLE,
            "maintainer": MAINTAINER, "bot_issues": issues, "bot_name": "crucible",
            "benchmark": seeded["benchmark"], "members": seeded["members"], "quota": 2,
            "submit_every": 30, "senders": max(2, USERS // 4),
            "requests": str(requests_log), "deliveries": str(deliveries_log),
        }  # fmt: skip
        (work / "soak.json").write_text(json.dumps(config))
        print(
            f"soak: {MINUTES:g} min, {USERS} Locust users, {os.cpu_count()} CPUs; platform at "
            f"{base_url}; logs in {work}",
            flush=True,
        )
        platform = Platform(
            base_url=base_url, secret=SECRET, repository=REPOSITORY, people=PEOPLE,
            postgres=postgres, redis=redis, github=github, web=web, worker=worker, beat=beat,
            evaluator=evaluator, evaluator_disk=evaluator_disk,
        )  # fmt: skip
        faults = schedule(seconds, disk_full=evaluator_disk is not None)
        if evaluator_disk is None:
            print("soak: the disk-full fault is left out: this machine cannot mount a tmpfs "
                  "(it needs root)", flush=True)  # fmt: skip
        locust = subprocess.Popen(
            [str(BIN / "locust"), "-f", str(ROOT / "benchmarks" / "soak_traffic.py"),
             "--headless", "--users", str(USERS), "--spawn-rate", str(USERS),
             "--run-time", f"{seconds}s", "--host", base_url, "--only-summary",
             "--loglevel", "WARNING", "--stop-timeout", "10"],
            cwd=ROOT, env={**os.environ, "SOAK_CONFIG": str(work / "soak.json")},
            stdout=(work / "locust.log").open("wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        started = time.time()
        windows: list[dict[str, Any]] = []
        threading.Thread(target=supervise, args=(services, stop), daemon=True).start()
        probes = run_schedule(platform, faults, started, windows)
        locust.wait()
        traffic_ended = time.time()
        for probe in probes:
            probe.join()
        drained = drain(platform, deliveries_log)
        stop.set()
        failed = check_and_report(
            platform=platform,
            requests_log=requests_log,
            deliveries_log=deliveries_log,
            windows=windows,
            started=started,
            ended=traffic_ended,
            drained=drained,
            services=services,
        )
    finally:
        stop.set()  # no supervisor starts anything again
        cleanup = [
            *(service.stop for service in services),
            lambda: locust is None or locust.poll() is not None or locust.kill(),
            github.stop,
            redis.close,
            postgres.close,
        ]
        if evaluator_disk is not None:
            cleanup.append(lambda: subprocess.run(["umount", "-l", str(evaluator_disk)]))
        for step in cleanup:
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - clean up the rest regardless
                print(f"soak: clean-up: {exc}", file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    main()
