"""Records by significance: mean ± 95 % interval over seeds, a one-sided Welch t-test against
the record holder's seeds (p below the benchmark's threshold), more seeds before deciding when
a result is better on average but not yet significant, ties where intervals overlap, and the
baseline's own row on the board. Results come through the worker API (`ApiWorker`)."""

from typing import Any

import pytest
from django.test import Client

from evaluation.models import Benchmark, LeaderboardEntry, Submission
from evaluation.services import leaderboard_recompute
from evaluation.services.records import record_verdict
from tests.factories import (
    BenchmarkFactory,
    ContributorFactory,
    EvaluationRunFactory,
    SubmissionFactory,
)
from tests.support.worker import ApiWorker, queued_config

pytestmark = pytest.mark.django_db

BASELINE = [2.815, 2.812, 2.818]


@pytest.fixture
def benchmark() -> Benchmark:
    """One seed per result, at most four: the demo's reduced budget keeps calibration out."""
    benchmark = BenchmarkFactory(
        slug="rec", engine_spec="demo-cpu", queue="cpu", seeds=1, max_seeds=4, byte_budget=8192
    )
    benchmark.baseline = scored(benchmark, BASELINE, contributor=None)
    benchmark.save()
    return benchmark


def scored(benchmark: Benchmark, scores: list[float], **fields: Any) -> Submission:
    """A scored submission with these seed scores (made directly: the holder's side)."""
    fields.setdefault("contributor", ContributorFactory())
    submission = SubmissionFactory(
        benchmark=benchmark,
        source="config",
        status="scored",
        result_attempt=1,
        mean_val_bpb=sum(scores) / len(scores),
        **fields,
    )
    for seed, score in enumerate(scores):
        EvaluationRunFactory(submission=submission, seed=seed, status="ok", val_bits_per_byte=score)
    return submission


def test_a_lucky_single_seed_is_not_a_record_and_extra_seeds_decide(benchmark: Benchmark) -> None:
    submission, worker = queued_config(benchmark, login="lucky"), ApiWorker()
    assert worker.evaluate(submission, {0: 2.700}) == "queued"  # one seed: nothing to test
    submission.refresh_from_db()
    assert submission.seeds_wanted == 3 and not submission.is_record
    assert "not yet significant (too few seeds to test" in submission.reason
    assert "running 2 more seeds, 3 of at most 4" in submission.reason
    # Seeds 1 and 2: better on average, still not significant: the fourth and last seed.
    assert worker.evaluate(submission, {1: 2.830, 2: 2.820}) == "queued"
    submission.refresh_from_db()
    assert submission.seeds_wanted == 4 and "p = 0." in submission.reason
    assert worker.evaluate(submission, {3: 2.820}) == "scored"
    submission.refresh_from_db()
    assert not submission.is_record and submission.runs.count() == 4
    assert "not significant after 4 seeds" in submission.record_note
    assert submission.record_p_value is not None and submission.record_p_value > 0.01
    assert submission.ci_val_bpb is not None and submission.ci_val_bpb > 0.05
    page = Client().get(f"/submissions/{submission.pk}/").content.decode()
    assert "95 % confidence interval over 4 seeds" in page and "not significant" in page


def test_a_better_model_becomes_the_record_once_its_seeds_show_it(benchmark: Benchmark) -> None:
    submission, worker = queued_config(benchmark, login="lucky"), ApiWorker()
    assert worker.evaluate(submission, {0: 2.801}) == "queued"
    assert worker.evaluate(submission, {1: 2.799, 2: 2.803}) == "scored"
    submission.refresh_from_db()
    # scipy.stats.ttest_ind([2.801, 2.799, 2.803], BASELINE, equal_var=False,
    # alternative="less").pvalue: the record's p-value, kept with it.
    assert submission.is_record
    assert submission.record_p_value == pytest.approx(0.002057898229104268, rel=1e-9)
    assert "new record: 2.8010 against the record's 2.8150" in submission.record_note
    board = Client().get("/leaderboard/rec/").content.decode()
    assert "better than the record before it, p = 0.0021" in board
    # The next challenger must beat this record, not the baseline.
    nearly = queued_config(benchmark, login="lucky")
    assert worker.evaluate(nearly, {0: 2.7995}) == "queued"
    assert worker.evaluate(nearly, {1: 2.801, 2: 2.800}) == "queued"
    assert worker.evaluate(nearly, {3: 2.800}) == "scored"
    nearly.refresh_from_db()
    assert not nearly.is_record and f"(#{submission.pk})" in nearly.record_note


def test_no_records_on_a_practice_benchmark_and_none_for_worse(benchmark: Benchmark) -> None:
    worse = scored(benchmark, [2.9, 2.91, 2.92])
    assert record_verdict(worse, [2.9, 2.91, 2.92]).note == ""
    Benchmark.objects.filter(pk=benchmark.pk).update(practice=True)
    better = scored(Benchmark.objects.get(pk=benchmark.pk), [2.5, 2.51, 2.49])
    assert not record_verdict(better, [2.5, 2.51, 2.49]).record


def test_overlapping_intervals_are_ties_and_the_baseline_has_its_own_row(
    benchmark: Benchmark,
) -> None:
    def entry(scores: list[float]) -> Submission:
        submission = scored(benchmark, scores)
        from evaluation.services.records import score_interval

        submission.mean_val_bpb, submission.std_val_bpb, submission.ci_val_bpb = score_interval(
            scores
        )
        submission.save()
        return submission

    first = entry([2.700, 2.702, 2.698])  # clear of the rest
    second = entry([2.760, 2.790, 2.775])  # these two overlap
    third = entry([2.780, 2.770, 2.800])
    fourth = entry([2.900])  # one seed: no interval, never tied
    leaderboard_recompute(benchmark=benchmark)
    rows = {
        e.submission_id: (e.rank, e.tied)
        for e in LeaderboardEntry.objects.filter(benchmark=benchmark)
    }
    assert rows == {
        first.pk: (1, False),
        second.pk: (2, True),
        third.pk: (2, True),
        fourth.pk: (4, False),
    }
    board = Client().get("/leaderboard/rec/").content.decode()
    assert 'title="tied: its 95 % interval overlaps a neighbour\'s">=2</abbr>' in board
    assert board.count('<tr class="baseline-row">') == 1
    # The baseline (2.815) sits between the tied pair and the single seed.
    assert board.index(f"/submissions/{third.pk}/") < board.index("baseline-row")
    assert board.index("baseline-row") < board.index(f"/submissions/{fourth.pk}/")
    api = Client().get("/api/benchmarks/rec/leaderboard/").json()
    listed = api["results"] if isinstance(api, dict) else api
    assert {(row["rank"], row["tied"]) for row in listed} >= {(2, True), (1, False)}
    assert all("ci_val_bpb" in row for row in listed)
