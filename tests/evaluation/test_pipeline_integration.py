"""The evaluation pipeline with real processes: gunicorn takes a signed `pull_request` delivery,
the platform's Celery worker on a real Redis asks the fake GitHub about the PR, an evaluation
worker holding only its token, the platform's URL and the broker's (`python -m evaluation.agent`)
fetches the job and the PR's files over HTTP, trains it in the engine's sandbox and reports back,
and the platform posts the status and comment; an evaluation worker killed with `kill -9`
mid-run leaves nothing stuck."""

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import override_settings

from contrib.models import Repository
from evaluation.agent import EVALUATE_TASK
from evaluation.agent.app import dispatcher
from evaluation.models import Benchmark, EvaluationRun, LeaderboardEntry, Submission, Worker
from evaluation.services import worker_create, worker_revoke
from tests.conftest import database_url_for_subprocesses, signed_headers
from tests.evaluation.conftest import (
    FULL_NAME,
    REPO_ID,
    ModelRepoGitHub,
    open_pull,
    pull_request_payload,
    submission_files,
)
from tests.factories import BenchmarkFactory, RepositoryFactory, SubmissionFactory
from tests.support.processes import (
    ROOT,
    celery_worker,
    evaluation_worker,
    fresh_cache_url,
    gunicorn,
    platform_env,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="code submissions need bubblewrap"),
]
SHA = "d" * 40


def wait_for(condition: Callable[[], Any], *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


@pytest.fixture
def fake() -> Iterator[ModelRepoGitHub]:
    github = ModelRepoGitHub().start()
    github.user("Codertocat", user_id=21031067)
    github.repo(FULL_NAME, repo_id=REPO_ID)
    github.user("maintainer")
    github.set_permission(FULL_NAME, "maintainer", "write")
    try:
        yield github
    finally:
        github.stop()


def environment(redis_url: str, fake: ModelRepoGitHub, **extra: str) -> dict[str, str]:
    return platform_env(
        DATABASE_URL=database_url_for_subprocesses(),
        CELERY_BROKER_URL=redis_url,
        CACHE_URL=fresh_cache_url(redis_url),
        CELERY_TASK_ALWAYS_EAGER="false",
        GITHUB_WEBHOOK_SECRET="test-webhook-secret",
        GITHUB_API_URL=fake.api_url,
        GITHUB_TOKEN="test-token",
        GITHUB_TIMEOUT="5",
        GITHUB_SECONDS_BETWEEN_WRITES="0",
        PLATFORM_URL="https://crucible.test",
        **extra,
    )


def demo_benchmark(*, byte_budget: int) -> Benchmark:
    repository = RepositoryFactory(
        full_name=FULL_NAME, github_id=REPO_ID, tracked=True, role=Repository.Role.MODEL
    )
    benchmark = BenchmarkFactory(
        slug="demo", engine_spec="demo-cpu", queue="cpu", seeds=1, byte_budget=byte_budget,
        model_repository=repository, submission_path="submissions/demo",
    )  # fmt: skip
    benchmark.baseline = SubmissionFactory(
        benchmark=benchmark, source="config", status="scored", mean_val_bpb=9.0, result_attempt=1
    )
    benchmark.save()
    return benchmark


def test_webhook_to_scored_status_comment_and_leaderboard(
    redis_url: str, fake: ModelRepoGitHub
) -> None:
    benchmark = demo_benchmark(byte_budget=4096)
    number = open_pull(fake, user="maintainer", sha=SHA)
    fake.set_archive(FULL_NAME, SHA, submission_files())
    env = environment(redis_url, fake)
    body = json.dumps(pull_request_payload(fake, number=number)).encode()
    worker, key = worker_create(name="pr-worker", queues=["cpu"])
    worker_broker_url = broker_account(worker.name, redis_url)
    with (
        gunicorn(env) as base_url,
        celery_worker(env, queues="default", concurrency=1, pool="solo"),
        evaluation_worker(base_url, worker_broker_url, key=key) as agent,
    ):
        # The worker host holds its token, the platform's URL and its own broker account:
        # nothing else of the platform's. (Read once it runs: during its exec the file is
        # briefly empty.)
        wait_for(
            lambda: Worker.objects.filter(pk=worker.pk).exclude(host="").exists(),
            timeout=60,
            what="the worker to say hello",
        )
        held = dict(
            line.split("=", 1)
            for line in Path(f"/proc/{agent.pid}/environ").read_text().split("\0")
            if "=" in line
        )
        assert {"PLATFORM_URL", "CRUCIBLE_WORKER_TOKEN", "CELERY_BROKER_URL"} <= set(held)
        assert not {"DATABASE_URL", "SECRET_KEY", "GITHUB_TOKEN", "GITHUB_WEBHOOK_SECRET"} & set(
            held
        )
        assert "DJANGO_SETTINGS_MODULE" not in held
        request = urllib.request.Request(
            f"{base_url}/webhooks/github/",
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                **signed_headers(body, event="pull_request"),
            },
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 202
        submission = wait_for(
            lambda: Submission.objects.filter(
                head_sha=SHA, status__in=["scored", "failed"]
            ).first(),
            timeout=240,
            what="the PR's submission to be scored",
        )
        assert submission.status == "scored", submission.reason
        wait_for(
            lambda: (
                any(s["state"] == "success" for s in fake.statuses(SHA))
                and fake.platform_comments()
            ),
            timeout=60,
            what="the success status and the comment on GitHub",
        )
    # `pending` may never reach GitHub: one worker here runs both queues, and an answer not yet
    # sent is replaced by the newer state (its row is edited, then sent once).
    assert fake.statuses(SHA)[-1]["state"] == "success"
    assert "rank #1" in fake.statuses(SHA)[-1]["description"]
    [comment] = fake.platform_comments()
    assert f"https://crucible.test/submissions/{submission.pk}/" in comment
    entry = LeaderboardEntry.objects.get(benchmark=benchmark)
    assert entry.submission_id == submission.pk and entry.rank == 1
    assert entry.delta_to_baseline == pytest.approx(submission.mean_val_bpb - 9.0)
    assert EvaluationRun.objects.get(submission=submission).worker == worker


def broker_account(name: str, redis_url: str) -> str:
    """The worker's own Redis account (`manage.py worker_broker_acl NAME --apply`); its URL."""
    out = io.StringIO()
    with override_settings(CELERY_BROKER_URL=redis_url):
        call_command("worker_broker_acl", name, "--apply", stdout=out)
    [url] = [line.split("=", 1)[1] for line in out.getvalue().splitlines() if "BROKER_URL=" in line]
    return url


def test_a_workers_broker_account_reaches_its_own_queues_only(redis_url: str) -> None:
    import redis

    worker, _key = worker_create(name="acl-probe", queues=["cpu"])
    account = redis.Redis.from_url(broker_account(worker.name, redis_url))
    account.lpush("crucible-eval:cpu", "ok")
    assert account.rpop("crucible-eval:cpu") == b"ok"
    account.hset("crucible-eval:unacked", "tag", "ok")
    account.hdel("crucible-eval:unacked", "tag")
    refused = [
        ("LPUSH", "default", "forged"),  # the platform's own tasks
        ("LRANGE", "default", "0", "-1"),
        ("HSET", "unacked", "tag", "forged"),  # the platform's own unacknowledged messages
        ("SADD", "_kombu.binding.default", "forged"),
        ("LPUSH", "crucible-eval:gpu", "stolen"),  # another queue's jobs
        ("KEYS", "*"),
        ("FLUSHALL",),
        ("CONFIG", "GET", "*"),
        ("ACL", "LIST"),
        ("SUBSCRIBE", "celery.pidbox"),
    ]
    for command in refused:
        with pytest.raises(redis.exceptions.NoPermissionError):
            account.execute_command(*command)


def test_a_revoked_worker_stops_and_its_job_waits_for_another(
    redis_url: str, fake: ModelRepoGitHub
) -> None:
    benchmark = demo_benchmark(byte_budget=4096)
    submission = SubmissionFactory(
        benchmark=benchmark, source="config", config={}, status="queued", official=False
    )
    worker, key = worker_create(name="revoked-soon", queues=["cpu"])
    env = environment(redis_url, fake)
    with gunicorn(env) as base_url, evaluation_worker(base_url, redis_url, key=key) as agent:
        wait_for(
            lambda: Worker.objects.filter(pk=worker.pk).exclude(host="").exists(),
            timeout=60,
            what="the worker to say hello",
        )
        worker_revoke(worker=worker)
        dispatcher(broker_url=redis_url, var_dir="").send_task(
            EVALUATE_TASK, args=[submission.pk], queue="cpu"
        )
        agent.wait(timeout=120)  # it stops by itself at its next call
    assert Submission.objects.get(pk=submission.pk).status == "queued"
    assert not EvaluationRun.objects.filter(submission=submission).exists()
    # The job went back on the queue: a worker in good standing takes it.
    _other, other_key = worker_create(name="in-good-standing", queues=["cpu"])
    with gunicorn(env) as base_url, evaluation_worker(base_url, redis_url, key=other_key):
        finished = wait_for(
            lambda: Submission.objects.filter(
                pk=submission.pk, status__in=["scored", "failed"]
            ).first(),
            timeout=240,
            what="another worker to take the job",
        )
    assert finished.status == "scored", finished.reason


def test_a_worker_killed_mid_run_is_requeued_and_finishes_never_stuck(
    redis_url: str, fake: ModelRepoGitHub
) -> None:
    benchmark = demo_benchmark(byte_budget=300_000)
    submission = SubmissionFactory(
        benchmark=benchmark, source="config", config={}, status="queued", official=False
    )
    env = environment(redis_url, fake, EVALUATION_HEARTBEAT_TIMEOUT="3")
    broker = dispatcher(broker_url=redis_url, var_dir="")
    _worker, key = worker_create(name="killed-and-back", queues=["cpu"])

    def send() -> None:
        broker.send_task(EVALUATE_TASK, args=[submission.pk], queue="cpu")

    with gunicorn(env) as base_url:
        send()
        with evaluation_worker(base_url, redis_url, key=key) as worker:
            wait_for(
                lambda: EvaluationRun.objects.filter(
                    submission=submission, status="running", progress_bytes__gt=0
                ).exists(),
                timeout=120,
                what="the run to make progress",
            )
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait()
        # No heartbeat any more: after EVALUATION_HEARTBEAT_TIMEOUT the reaper (beat's job, run
        # here as its own process with the same settings) requeues the run once.
        time.sleep(4)
        reaped = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c",
             "from evaluation.services import runs_reap_stale; print(runs_reap_stale())"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        assert "'requeued': 1" in reaped.stdout, reaped.stdout + reaped.stderr
        assert Submission.objects.get(pk=submission.pk).status == "queued"

        with evaluation_worker(base_url, redis_url, key=key):
            finished = wait_for(
                lambda: Submission.objects.filter(
                    pk=submission.pk, status__in=["scored", "failed"]
                ).first(),
                timeout=240,
                what="the requeued submission to finish",
            )
            run = EvaluationRun.objects.get(submission=submission)
            assert finished.status == "scored" or "worker lost" in finished.reason
            assert run.attempts == 2
            # A redelivered task for the finished submission runs nothing.
            send()
            time.sleep(3)
    assert EvaluationRun.objects.get(pk=run.pk).attempts == 2
    assert not EvaluationRun.objects.filter(status="running").exists()
