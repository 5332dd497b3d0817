"""History is kept: every attempt's runs stay; a re-run never removes the result shown until a
newer complete one replaces it, and the leaderboard row links to the attempt it shows."""

import itertools

import pytest
from django.test import Client

from evaluation.models import Benchmark, LeaderboardEntry, Submission
from evaluation.services import leaderboard_recompute, submission_cancel, submission_rerun
from tests.factories import BenchmarkFactory
from tests.support.worker import ApiWorker, queued_config

pytestmark = pytest.mark.django_db


@pytest.fixture
def benchmark() -> Benchmark:
    return BenchmarkFactory(
        slug="hist", engine_spec="demo-cpu", queue="cpu", seeds=1, max_seeds=1, byte_budget=8192
    )


def board(benchmark: Benchmark) -> dict[int, tuple[float, int]]:
    rows = LeaderboardEntry.objects.filter(benchmark=benchmark)
    return {row.submission_id: (round(row.mean_val_bpb, 4), row.attempt) for row in rows}


@pytest.mark.parametrize("order", list(itertools.permutations(("fails", "cancelled", "scores"))))
def test_reruns_that_fail_are_cancelled_or_score_never_leave_the_board_stale(
    benchmark: Benchmark, order: tuple[str, ...]
) -> None:
    worker = ApiWorker()
    ann, bob = queued_config(benchmark, login="ann"), queued_config(benchmark, login="bob")
    assert worker.evaluate(ann, {0: 2.70}) == worker.evaluate(bob, {0: 2.80}) == "scored"
    shown = {ann.pk: (2.70, 1), bob.pk: (2.80, 1)}
    score = 2.90
    for step, outcome in enumerate(order, start=2):
        for submission in (ann, bob):  # both, one after the other
            submission_rerun(submission=Submission.objects.get(pk=submission.pk))
            assert board(benchmark) == shown  # queued again: still its last complete result
            worker.claim(submission)
            assert board(benchmark) == shown  # running
            if outcome == "fails":
                assert not worker.seed(submission, failed=True)
            elif outcome == "cancelled":
                submission_cancel(submission=Submission.objects.get(pk=submission.pk))
            else:
                assert worker.seed(submission, score=score)
                worker.post(f"jobs/{submission.pk}/finish/")
                shown[submission.pk] = (round(score, 4), step)
                score += 0.01
            assert board(benchmark) == shown, (outcome, step)
            leaderboard_recompute(benchmark=benchmark)  # and rebuilt from scratch, the same
            assert board(benchmark) == shown, (outcome, step)
    ann.refresh_from_db()
    # Every attempt's seed is kept (the one cancelled before its seed started has none).
    cancelled = order.index("cancelled") + 2
    kept = sorted(ann.runs.values_list("attempt", flat=True))
    assert ann.attempt == 4 and kept == [a for a in (1, 2, 3, 4) if a != cancelled]
    page = Client().get(f"/submissions/{ann.pk}/").content.decode()
    assert "Earlier attempts" in page and 'id="attempt-1"' in page
    attempt = shown[ann.pk][1]
    if attempt != ann.attempt:
        assert f'the complete result of <a href="#attempt-{attempt}">' in page
    leaderboard = Client().get("/leaderboard/hist/").content.decode()
    assert f"/submissions/{ann.pk}/#attempt-{attempt}" in leaderboard
