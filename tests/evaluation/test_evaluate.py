"""The worker's job with the real engine on a tiny budget: scored, ranked, credited;
cancelling a running submission kills its engine."""

import threading
import time

import pytest

from contrib.models import Contribution
from evaluation.models import EvaluationRun, LeaderboardEntry, Submission, Worker
from evaluation.services import (
    benchmark_get_or_create,
    submission_cancel,
    submission_create_config,
)
from tests.factories import BenchmarkFactory, ContributorFactory, SubmissionFactory
from tests.support.worker import evaluate_now, make_worker

# A few thousand bytes of training: seconds per run, enough to exercise the whole path.
TINY = 4096


@pytest.mark.django_db
def test_config_submission_is_scored_ranked_against_the_baseline_and_credited() -> None:
    benchmark = benchmark_get_or_create(
        slug="demo", engine_spec="demo-cpu", queue="cpu", seeds=1, byte_budget=TINY
    )
    mona = ContributorFactory(login="mona")
    submission = submission_create_config(
        benchmark=benchmark, contributor=mona, config={"lr": 0.01}, title="hotter"
    )
    assert evaluate_now(benchmark.baseline_id) == "scored"
    assert evaluate_now(submission.pk) == "scored"

    submission.refresh_from_db()
    run = submission.runs.get()
    assert run.status == "ok" and run.val_bits_per_byte == submission.mean_val_bpb
    assert 0 < submission.mean_val_bpb < 8.5
    assert run.loss_curve and run.progress_bytes == TINY and run.worker_host
    assert not submission.official  # a reduced budget never counts as official

    entry = LeaderboardEntry.objects.get(benchmark=benchmark)
    baseline = Submission.objects.get(pk=benchmark.baseline_id)
    assert entry.rank == 1 and entry.contributor == mona
    assert entry.delta_to_baseline == pytest.approx(submission.mean_val_bpb - baseline.mean_val_bpb)
    assert Contribution.objects.get(kind="evaluation").contributor == mona

    # A redelivered task for a finished submission does nothing.
    assert evaluate_now(submission.pk) == "scored"
    assert EvaluationRun.objects.get(pk=run.pk).attempts == 1


@pytest.mark.django_db
def test_a_failure_the_engine_blames_on_the_platform_is_not_charged() -> None:
    """A GPU benchmark's job on a machine that said it has a GPU, and has none: the engine says
    whose fault it is. (A worker that says it has none never gets the job: test_workers.py.)"""
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    benchmark = benchmark_get_or_create(slug="gpu", engine_spec="gpu-small", queue="gpu", seeds=1)
    worker, key = make_worker("gpu")
    Worker.objects.filter(pk=worker.pk).update(devices=["NVIDIA H200, 143771 MiB"])
    # The platform's fault: tried once more (here on the same worker), then failed.
    assert evaluate_now(benchmark.baseline_id, key=key) == "queued"
    assert evaluate_now(benchmark.baseline_id, key=key) == "failed"
    submission = submission_create_config(
        benchmark=benchmark, contributor=ContributorFactory(login="octo"), config={}
    )
    assert evaluate_now(submission.pk, key=key) == "queued"
    assert evaluate_now(submission.pk, key=key) == "failed"
    submission.refresh_from_db()
    assert "none is available here" in submission.reason
    assert not submission.counts_for_quota


@pytest.mark.django_db(transaction=True)
def test_cancelling_a_running_submission_kills_its_engine() -> None:
    # Rows made directly: with eager tasks in this transactional test the services' enqueue
    # would run the evaluation inline before the worker thread below could.
    benchmark = BenchmarkFactory(
        slug="demo", engine_spec="demo-cpu", queue="cpu", seeds=1, byte_budget=200_000
    )
    submission = SubmissionFactory(benchmark=benchmark, source="config", config={}, status="queued")
    outcome: list[str] = []
    worker = threading.Thread(target=lambda: outcome.append(evaluate_now(submission.pk)))
    worker.start()
    deadline = time.monotonic() + 180  # generous: CI machines are small and busy
    while not EvaluationRun.objects.filter(submission=submission, status="running").exists():
        assert time.monotonic() < deadline
        time.sleep(0.2)
    cancelled_at = time.monotonic()
    submission_cancel(submission=Submission.objects.get(pk=submission.pk), reason="changed my mind")
    worker.join(60)
    assert not worker.is_alive()
    assert time.monotonic() - cancelled_at < 30
    run = EvaluationRun.objects.get(submission=submission)
    assert run.status == "cancelled"
    assert Submission.objects.get(pk=submission.pk).reason == "changed my mind"
