"""Complete runs only: a seed that trained on less than its whole byte budget (the training cap
came first) makes its submission incomplete — never ranked, never a record, never credited —
and its page says how far it got and why: the model too slow for the budget, or the machine
(the worker's own timing of the reference model). A machine too slow gets the job requeued
once, for another worker, and charges nobody."""

import pytest
from django.test import Client

from contrib.models import Contribution
from evaluation.models import Benchmark, EvaluationRun, LeaderboardEntry
from tests.factories import BenchmarkFactory
from tests.support.worker import ApiWorker, queued_config

pytestmark = pytest.mark.django_db

BUDGET = 16 * 128 * 300  # demo-cpu's whole budget: 614,400 bytes in its 60 s cap
NEEDED = BUDGET / 60  # 10,240 bytes/s


@pytest.fixture
def benchmark() -> Benchmark:
    return BenchmarkFactory(slug="full", engine_spec="demo-cpu", queue="cpu", seeds=2)


def test_a_model_too_slow_for_the_budget_is_incomplete_and_never_ranked(
    benchmark: Benchmark,
) -> None:
    submission = queued_config(benchmark)
    worker = ApiWorker()
    worker.calibrate(benchmark, NEEDED * 3)  # this machine is fast enough
    worker.claim(submission)
    assert worker.seed(submission, trained=204_800, rate=3_000.0) is False  # no second seed
    submission.refresh_from_db()
    assert submission.status == "incomplete" and submission.counts_for_quota
    assert submission.reason == (
        "seed 0 trained 204,800 of its 614,400 bytes (33 %) before the 60 s training cap: the "
        "model trained at 3,000 bytes/s and the budget needs 10,240 within the cap (the "
        "reference model trains at 30,720 on this worker). Make it faster or smaller"
    )
    assert submission.mean_val_bpb is None and not submission.is_record
    assert not LeaderboardEntry.objects.filter(benchmark=benchmark).exists()
    assert not Contribution.objects.filter(kind="evaluation").exists()
    assert submission.runs.count() == 1  # its other seed never ran
    page = Client().get(f"/submissions/{submission.pk}/").content.decode()
    assert "Cut short, so not ranked" in page and "3,000 bytes/s" in page
    board = Client().get("/leaderboard/full/").content.decode()
    assert "Cut short, not ranked" in board and f"/submissions/{submission.pk}/" in board
    assert "Only complete runs are ranked" in board


def test_a_machine_too_slow_requeues_once_for_a_faster_worker_and_charges_nobody(
    benchmark: Benchmark,
) -> None:
    submission = queued_config(benchmark)
    slow, fast = ApiWorker(), ApiWorker()
    slow.calibrate(benchmark, NEEDED / 2)
    assert slow.claim(submission)["calibrate"] is None  # measured today: not timed again
    assert slow.seed(submission, trained=300_000, rate=5_000.0) is False
    submission.refresh_from_db()
    assert submission.status == "queued" and submission.slow_requeues == 1
    run = EvaluationRun.objects.get(submission=submission)
    assert run.status == "queued" and "slower than this benchmark needs" in run.error
    # A faster worker of the queue is around: the slow one leaves the job to it…
    fast.calibrate(benchmark, NEEDED * 2)
    fast.post("hello/", {"host": "fast-box"})
    refused = slow.post(f"jobs/{submission.pk}/claim/")
    assert refused.status_code == 409 and "waits for a faster one" in refused.json()["detail"]
    assert fast.claim(submission)["seeds"] == [0, 1]
    assert fast.seed(submission, trained=BUDGET, rate=20_000.0) is True


def test_cut_short_twice_on_slow_machines_is_not_charged(benchmark: Benchmark) -> None:
    submission = queued_config(benchmark)
    slow = ApiWorker()
    slow.calibrate(benchmark, NEEDED / 2)
    slow.claim(submission)
    slow.seed(submission, trained=300_000, rate=5_000.0)
    slow.claim(submission)  # no faster worker anywhere: it runs here again
    slow.seed(submission, trained=300_000, rate=5_000.0)
    submission.refresh_from_db()
    assert submission.status == "incomplete" and not submission.counts_for_quota
    assert "too slow for this benchmark" in submission.reason
    assert "Not charged to your quota" in submission.reason
    assert not LeaderboardEntry.objects.filter(benchmark=benchmark).exists()


def test_a_worker_times_the_reference_before_its_first_official_job(benchmark: Benchmark) -> None:
    worker = ApiWorker()
    job = worker.claim(queued_config(benchmark))
    timing = {"benchmark": "full", "byte_budget": 20 * 16 * 128, "data_version": 1}
    assert job["calibrate"] == timing  # 20 steps of the reference model
    refused = worker.post(
        "calibration/", {"benchmark": "elsewhere", "data_version": 1, "bytes_per_second": 5.0}
    )
    assert refused.status_code == 400
    # A reduced budget (demos, tests) is unofficial: not worth the timing.
    reduced = BenchmarkFactory(slug="demo", engine_spec="demo-cpu", queue="cpu", byte_budget=4096)
    assert worker.claim(queued_config(reduced))["calibrate"] is None
