"""Records by significance: mean ± 95 % interval over seeds, a one-sided Welch t-test against
the record holder's seeds (p below the benchmark's threshold), more seeds before deciding when
a result is better on average but not yet significant, ties where intervals overlap, and the
baseline's own row on the board. Results come through the worker API (`ApiWorker`)."""

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from evaluation.api.serializers import LeaderboardEntrySerializer
from evaluation.errors import TransitionError
from evaluation.models import Benchmark, LeaderboardEntry, Submission, Worker
from evaluation.services import leaderboard_recompute
from evaluation.services.intake import _supersede
from evaluation.services.reaper import runs_reap_stale
from evaluation.services.records import baselines_refresh, record_verdict
from evaluation.services.submissions import submission_cancel
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
    # The side with fewer seeds gets more: this submission's (1 against the baseline's 3).
    assert "running 2 more seeds of this submission (3 of at most 4)" in submission.reason
    assert submission.record_pending
    # Seeds 1 and 2: better on average, still not significant, three seeds each: both sides
    # get a fourth (the cap), the baseline's while its result stands on the board.
    assert worker.evaluate(submission, {1: 2.830, 2: 2.820}) == "queued"
    submission.refresh_from_db()
    assert submission.seeds_wanted == 4 and "p = 0." in submission.reason
    assert "1 more seed of the record holder" in submission.reason
    baseline = Submission.objects.get(pk=benchmark.baseline_id)
    assert baseline.status == "queued" and baseline.seeds_wanted == 4
    assert baseline.result_attempt == 1 and baseline.mean_val_bpb == pytest.approx(2.815)
    assert LeaderboardEntry.objects.filter(benchmark=benchmark).count() == 0  # nothing ranked yet
    # The fair queue hands out the baseline's seed first (its contributor never ran one).
    assert worker.evaluate(baseline, {3: 2.816}) == "scored"
    baseline.refresh_from_db()
    assert baseline.runs.filter(status="ok").count() == 4
    assert baseline.mean_val_bpb == pytest.approx((sum(BASELINE) + 2.816) / 4)
    assert worker.evaluate(submission, {3: 2.820}) == "scored"
    submission.refresh_from_db()
    assert not submission.is_record and submission.runs.count() == 4
    assert not submission.record_pending
    assert "not significant after 4 seeds against 4" in submission.record_note
    assert submission.record_p_value is not None and submission.record_p_value > 0.01
    assert submission.ci_val_bpb is not None and submission.ci_val_bpb > 0.05
    page = Client().get(f"/submissions/{submission.pk}/").content.decode()
    assert "95 % confidence interval over 4 seeds" in page and "not significant" in page


def test_the_record_holder_gets_extra_seeds_and_the_challenger_waits_for_them(
    benchmark: Benchmark,
) -> None:
    """A holder with fewer seeds than a challenger at the cap: the holder's side grows (its
    result stands meanwhile); the challenger is scored and ranked, its record decided once the
    holder's seeds are in."""
    holder = scored(benchmark, [2.790], is_record=True)
    holder.result_device = "cpu"
    holder.save()
    Benchmark.objects.filter(pk=benchmark.pk).update(seeds=4)
    challenger, worker = queued_config(benchmark, login="steady"), ApiWorker()
    scores = {0: 2.781, 1: 2.780, 2: 2.779, 3: 2.784}
    assert worker.evaluate(challenger, scores) == "scored"
    challenger.refresh_from_db()
    holder.refresh_from_db()
    assert challenger.record_pending and not challenger.is_record
    # Significant only against the holder's one seed taken as exact: the holder's side grows.
    assert "p = 0.0018 against its one seed" in challenger.record_note
    assert "2 more seeds of the record holder" in challenger.record_note
    assert holder.status == "queued" and holder.seeds_wanted == 3 and holder.only_on == "cpu"
    rows = {e.submission_id: e.rank for e in LeaderboardEntry.objects.filter(benchmark=benchmark)}
    assert rows == {challenger.pk: 1, holder.pk: 2}  # both ranked; the holder's result stands
    page = Client().get(f"/submissions/{challenger.pk}/").content.decode()
    assert "before deciding" in page
    # Its owner cannot cancel the seeds that test another's record.
    with pytest.raises(TransitionError, match="adding seeds to the result it shows"):
        submission_cancel(submission=holder)
    assert worker.evaluate(holder, {1: 2.792, 2: 2.788}) == "scored"
    challenger.refresh_from_db()
    holder.refresh_from_db()
    assert holder.is_record and holder.status == "scored" and holder.runs.count() == 3
    assert challenger.is_record and not challenger.record_pending
    assert challenger.record_p_value is not None and challenger.record_p_value < 0.01
    assert "new record" in challenger.record_note


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
    # The API builds its rows from values(), not the serializer its schema names: the same JSON.
    entries = LeaderboardEntry.objects.filter(benchmark=benchmark).order_by("rank", "pk")
    assert listed == json.loads(
        JSONRenderer().render(LeaderboardEntrySerializer(entries, many=True).data)
    )
    assert all("ci_val_bpb" in row for row in listed)


def test_a_holder_whose_extra_seeds_fail_keeps_its_result_and_the_reaper_decides(
    benchmark: Benchmark,
) -> None:
    holder = scored(benchmark, [2.790], is_record=True, result_device="cpu")
    Benchmark.objects.filter(pk=benchmark.pk).update(seeds=4)
    challenger, worker = queued_config(benchmark, login="steady"), ApiWorker()
    assert worker.evaluate(challenger, {0: 2.781, 1: 2.780, 2: 2.779, 3: 2.784}) == "scored"
    worker.claim(holder)
    assert not worker.seed(holder, seed=1, failed=True)  # its extra seed crashes
    holder.refresh_from_db()
    assert holder.status == "scored" and holder.result_attempt == 1 and holder.is_record
    assert holder.reason.startswith("extra seeds did not all run")
    assert LeaderboardEntry.objects.filter(submission=holder).exists()
    challenger.refresh_from_db()
    assert challenger.record_pending  # until the reaper's next round
    assert runs_reap_stale()["decided"] == 1
    challenger.refresh_from_db()
    # The holder cannot get more seeds now: its one seed is taken as a fixed value.
    assert challenger.is_record and not challenger.record_pending
    assert runs_reap_stale()["decided"] == 0


H100, H200 = "NVIDIA H100 80GB HBM3", "NVIDIA H200"


def test_the_baseline_is_rerun_on_each_device_class_and_deltas_compare_like_with_like() -> None:
    """Worker classes are the devices runs report (`nvidia-smi`'s name in a worker's hello):
    the beat re-runs the baseline on a class of the queue's live workers without a result
    there, only a worker of that class takes it, and a submission's delta and record test use
    the baseline's result on the submission's own class."""
    benchmark = BenchmarkFactory(
        slug="gpu-rec", engine_spec="gpu-small", queue="gpu", seeds=1, max_seeds=1, byte_budget=8192
    )
    h100 = ApiWorker("gpu", devices=[f"{H100}, 81559 MiB"])
    h200 = ApiWorker("gpu", devices=[f"{H200}, 143771 MiB"])
    baseline = queued_config(benchmark, login="gpu-baseline")
    benchmark.baseline = baseline
    benchmark.save()
    assert h100.evaluate(baseline, {0: 2.800}, device=H100) == "scored"
    benchmark.refresh_from_db()
    assert set(benchmark.baseline_results) == {H100}

    assert baselines_refresh() == [f"gpu-rec@{H200}"]
    baseline.refresh_from_db()
    assert baseline.status == "queued" and baseline.attempt == 2 and baseline.only_on == H200
    refused = h100.post(f"jobs/{baseline.pk}/claim/")
    assert refused.status_code == 409 and f"runs only on {H200} workers" in refused.json()["detail"]
    assert h200.evaluate(baseline, {0: 2.750}, device=H200) == "scored"
    benchmark.refresh_from_db()
    assert benchmark.baseline_results[H100]["scores"] == [2.800]
    assert benchmark.baseline_results[H200]["scores"] == [2.750]
    assert baselines_refresh() == []  # both classes fresh

    on_h200 = queued_config(benchmark, login="gpu-author")
    assert h200.evaluate(on_h200, {0: 2.760}, device=H200) == "scored"
    on_h200.refresh_from_db()
    entry = LeaderboardEntry.objects.get(submission=on_h200)
    # Better than the baseline's H100 figure, worse than its H200 one: no record, a + delta.
    assert on_h200.result_device == H200 and not on_h200.is_record
    assert entry.delta_to_baseline == pytest.approx(0.010)
    board = Client().get("/leaderboard/gpu-rec/").content.decode()
    assert f"{H100} 2.8000" in board and f"{H200} 2.7500" in board


def test_a_holder_is_never_rerun_on_a_challengers_device_and_its_extra_seeds_end(
    settings: Any,
) -> None:
    """Red team: a challenger on another class of device made a record holder (not the
    baseline) start a new attempt there, which its owner could cancel (and the record then
    went to a one-seed comparison), which could strip its record or fail it. Now it grows only
    on its own class; extra seeds no live worker of that class takes are given up, the result
    as it was; a push to its pull request does not supersede them."""
    benchmark = BenchmarkFactory(
        slug="gpu-hold", engine_spec="gpu-small", queue="gpu", seeds=4, max_seeds=4,
        byte_budget=8192,
    )  # fmt: skip
    holder = scored(benchmark, [2.790], is_record=True, result_device=H100)
    h100 = ApiWorker("gpu", devices=[f"{H100}, 81559 MiB"])
    h200 = ApiWorker("gpu", devices=[f"{H200}, 143771 MiB"])
    challenger = queued_config(benchmark, login="steady")
    scores = {0: 2.781, 1: 2.780, 2: 2.779, 3: 2.784}
    assert h200.evaluate(challenger, scores, device=H200) == "scored"
    holder.refresh_from_db()
    assert holder.attempt == 1 and holder.status == "queued" and holder.only_on == H100
    _supersede(holder, sha="d" * 40)  # a new commit on the holder's PR
    holder.refresh_from_db()
    assert holder.status == "queued"
    # The H100 worker leaves; after EVALUATION_REDISPATCH_AFTER the extra seeds are given up.
    Worker.objects.filter(pk=h100.model.pk).update(last_seen_at=None)
    Submission.objects.filter(pk=holder.pk).update(
        queued_at=timezone.now() - timedelta(seconds=settings.EVALUATION_REDISPATCH_AFTER + 1)
    )
    runs_reap_stale()
    holder.refresh_from_db()
    challenger.refresh_from_db()
    assert holder.status == "scored" and holder.is_record and holder.result_attempt == 1
    assert "no NVIDIA H100 80GB HBM3 worker took it" in holder.reason
    # Decided with what there is: the holder could not grow, its seed is taken as fixed.
    assert not challenger.record_pending and challenger.is_record
