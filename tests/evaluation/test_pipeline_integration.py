"""The evaluation pipeline with real processes: gunicorn takes a signed `pull_request` delivery,
a Celery worker process on a real Redis fetches the PR's tarball from the fake GitHub, trains it
in the engine's sandbox, and posts the status and comment back; a worker killed with `kill -9`
mid-run leaves nothing stuck."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from celery import Celery

from contrib.models import Repository
from evaluation.models import Benchmark, EvaluationRun, LeaderboardEntry, Submission
from tests.conftest import database_url_for_subprocesses, signed_headers
from tests.evaluation.conftest import (
    FULL_NAME,
    REPO_ID,
    ModelRepoGitHub,
    open_pull,
    pull_request_payload,
    solo_worker,
    submission_files,
)
from tests.factories import BenchmarkFactory, RepositoryFactory, SubmissionFactory
from tests.support.processes import ROOT, gunicorn, platform_env

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
        benchmark=benchmark, source="config", status="scored", mean_val_bpb=9.0
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
    with gunicorn(env) as base_url, solo_worker(env):
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


def test_a_worker_killed_mid_run_is_requeued_and_finishes_never_stuck(
    redis_url: str, fake: ModelRepoGitHub
) -> None:
    benchmark = demo_benchmark(byte_budget=300_000)
    submission = SubmissionFactory(
        benchmark=benchmark, source="config", config={}, status="queued", official=False
    )
    env = environment(redis_url, fake, EVALUATION_HEARTBEAT_TIMEOUT="3")
    broker = Celery(broker=redis_url)

    def send() -> None:
        broker.send_task("evaluation.evaluate_submission", args=[submission.pk], queue="cpu")

    send()
    with solo_worker(env) as worker:
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

    with solo_worker(env):
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
