"""Exports: a leaderboard and the submissions list as CSV and JSON, the same rows either way."""

import csv
import io

import pytest
from django.test import Client

from evaluation.models import Benchmark, Submission
from evaluation.services import leaderboard_recompute
from tests.factories import BenchmarkFactory
from tests.support.worker import queued_config

pytestmark = pytest.mark.django_db


@pytest.fixture
def benchmark() -> Benchmark:
    benchmark = BenchmarkFactory(slug="exp", engine_spec="demo-cpu", queue="cpu", seeds=3)
    for login, mean, ci in (("ann", 2.70, 0.01), ("bob", 2.71, 0.02), ("cyd", 2.90, 0.01)):
        submission = queued_config(benchmark, login=login)
        Submission.objects.filter(pk=submission.pk).update(
            status="scored", result_attempt=1, mean_val_bpb=mean, ci_val_bpb=ci, std_val_bpb=ci
        )
    leaderboard_recompute(benchmark=benchmark)
    return benchmark


def rows_of(response: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.decode())))


def test_a_leaderboard_as_csv_and_json(benchmark: Benchmark) -> None:
    client = Client()
    as_csv = client.get("/leaderboard/exp/export.csv")
    assert as_csv["Content-Type"].startswith("text/csv")
    assert 'filename="leaderboard-exp.csv"' in as_csv["Content-Disposition"]
    table = rows_of(b"".join(as_csv.streaming_content))
    as_json = client.get("/leaderboard/exp/export.json").json()
    assert [r["contributor"] for r in table] == [r["contributor"] for r in as_json]
    assert [(r["rank"], r["tied"]) for r in table] == [("1", "True"), ("1", "True"), ("3", "False")]
    assert as_json[0]["ci95_val_bpb"] == 0.01 and as_json[2]["mean_val_bpb"] == 2.9
    assert client.get("/leaderboard/exp/export.xml").status_code == 404
    page = client.get("/leaderboard/exp/").content.decode()
    assert 'href="/leaderboard/exp/export.csv"' in page


def test_the_submissions_list_exports_with_its_filters_and_no_formulas(
    benchmark: Benchmark,
) -> None:
    waiting = queued_config(benchmark, login="eve")
    Submission.objects.filter(pk=waiting.pk).update(title='=HYPERLINK("http://evil")')
    client = Client()
    table = rows_of(b"".join(client.get("/submissions/export.csv?status=queued").streaming_content))
    assert [row["id"] for row in table] == [str(waiting.pk)]
    assert table[0]["title"].startswith("'=HYPERLINK")  # a spreadsheet shows it as text
    assert table[0]["queue_position"] == "1"
    everything = client.get("/submissions/export.json?benchmark=exp").json()
    assert len(everything) == 4 and {row["status"] for row in everything} == {"scored", "queued"}
    page = client.get("/submissions/?status=queued").content.decode()
    assert 'href="/submissions/export.csv?status=queued"' in page


def test_the_page_the_api_and_the_exports_list_the_board_in_one_order(
    benchmark: Benchmark,
) -> None:
    """One selector (`leaderboard_entries`) orders the board for all three, ties included."""
    client = Client()
    exported = [row["contributor"] for row in client.get("/leaderboard/exp/export.json").json()]
    api = client.get("/api/benchmarks/exp/leaderboard/").json()
    listed = [row["contributor"]["login"] for row in (api.get("results", api))]
    page = client.get("/leaderboard/exp/").content.decode()
    shown = sorted(exported, key=lambda login: page.index(f"/c/{login}/"))
    assert exported == listed == shown == ["ann", "bob", "cyd"]
