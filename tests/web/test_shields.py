"""README badges (`/badges/…svg`) and the cards of shared links (`/cards/…png`): the right
numbers, the right types, cache headers, served from the cache until it expires, and a 404 for
what does not exist. (Their speed from the cache is measured in `benchmarks/bench_pages.py`.)"""

import io

import pytest
from django.core.cache import caches
from django.test import Client
from PIL import Image

from contrib.scores import scoring_points
from tests.factories import (
    BenchmarkFactory,
    ContributionFactory,
    ContributorFactory,
    SubmissionFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    caches["pictures"].clear()


def svg(path: str, status: int = 200) -> str:
    answer = Client().get(path)
    assert answer.status_code == status
    assert answer["Content-Type"].startswith("image/svg+xml")
    assert answer["Cache-Control"] == "public, max-age=300"
    return answer.content.decode()


def test_a_contributors_badge_shows_their_rank_and_points_and_is_cached() -> None:
    code = scoring_points()["code"]
    top, second = ContributorFactory(login="top-dev"), ContributorFactory(login="second-dev")
    for _ in range(3):
        ContributionFactory(contributor=top, kind="code")
    ContributionFactory(contributor=second, kind="code")
    bot = ContributorFactory(login="busy[bot]", is_bot=True)
    for _ in range(9):
        ContributionFactory(contributor=bot, kind="code")  # bots are not ranked
    badge = svg("/badges/c/second-dev.svg")
    assert f"#2 · {code.normalize():f} points" in badge and "<title>crucible: #2" in badge
    assert f"#1 · {(3 * code).normalize():f} points" in svg("/badges/c/top-dev.svg")
    for _ in range(5):  # second passes top: the badge says so once the cache expires
        ContributionFactory(contributor=second, kind="code")
    assert "#2 ·" in svg("/badges/c/second-dev.svg")
    caches["pictures"].clear()
    assert "#1 ·" in svg("/badges/c/second-dev.svg")
    assert "no such contributor" in svg("/badges/c/nobody-here.svg", status=404)


def test_record_badges_for_a_benchmark_and_for_its_holder() -> None:
    benchmark = BenchmarkFactory(slug="badge-bench", engine_spec="demo-cpu", queue="cpu")
    assert "none yet" in svg("/badges/record/badge-bench.svg")
    old = ContributorFactory(login="old-holder")
    new = ContributorFactory(login="new-holder")
    for who, score in ((old, 2.9), (new, 2.7812)):
        SubmissionFactory(
            benchmark=benchmark,
            contributor=who,
            source="config",
            status="scored",
            result_attempt=1,
            mean_val_bpb=score,
            is_record=True,
        )
    caches["pictures"].clear()
    assert "2.7812 bpb by new-holder" in svg("/badges/record/badge-bench.svg")
    assert "holder · 2.7812 bpb" in svg("/badges/c/new-holder/record/badge-bench.svg")
    assert "held it before" in svg("/badges/c/old-holder/record/badge-bench.svg")
    ContributorFactory(login="no-record")
    assert "not yet" in svg("/badges/c/no-record/record/badge-bench.svg")
    assert "no such benchmark" in svg("/badges/record/nope.svg", status=404)


def test_cards_for_shared_links_are_pngs_and_the_pages_point_to_them() -> None:
    """Open Graph / Twitter cards: a 1200 × 630 PNG for a profile and for a leaderboard, and
    the pages' meta tags naming them with an absolute address."""
    person = ContributorFactory(login="card-person", name="Card Person")
    ContributionFactory(contributor=person, kind="code")
    BenchmarkFactory(slug="card-bench", engine_spec="demo-cpu", queue="cpu")
    for path in ("/cards/c/card-person.png", "/cards/record/card-bench.png"):
        answer = Client().get(path)
        assert answer.status_code == 200 and answer["Content-Type"] == "image/png"
        assert answer["Cache-Control"] == "public, max-age=300"
        with Image.open(io.BytesIO(answer.content)) as image:
            assert image.size == (1200, 630)
    assert Client().get("/cards/c/nobody-card.png").status_code == 404
    profile = Client().get("/c/card-person/").content.decode()
    assert '<meta property="og:image" content="http://testserver/cards/c/card-person.png">' in (
        profile
    )
    board = Client().get("/leaderboard/card-bench/").content.decode()
    assert 'content="http://testserver/cards/record/card-bench.png"' in board
    assert '<meta name="twitter:card" content="summary_large_image">' in board


def test_names_nobody_has_cache_nothing_and_a_look_alike_poisons_no_badge() -> None:
    """Red team: a 404 picture per unknown name filled the shared cache until it culled the
    sign-in lock-outs; a Kelvin sign (K, U+212A) cached a 404 under the real `kelly`'s key.
    Pictures live in their own per-process cache, keyed by the name as asked, and a 404 is
    never kept."""
    ContributionFactory(contributor=ContributorFactory(login="kelly"), kind="code")
    for n in range(30):
        svg(f"/badges/c/nobody-{n}.svg", status=404)
        assert Client().get(f"/cards/c/nobody-{n}.png").status_code == 404
    assert not caches["pictures"]._cache  # type: ignore[attr-defined]  # nothing kept
    svg("/badges/c/%E2%84%AAelly.svg", status=404)
    assert "#1 ·" in svg("/badges/c/kelly.svg")


def test_a_bot_is_not_ranked_and_a_merged_holder_is_who_they_became() -> None:
    bot = ContributorFactory(login="deps[bot]", is_bot=True)
    for _ in range(5):
        ContributionFactory(contributor=bot, kind="code")
    assert "a bot: not ranked" in svg("/badges/c/deps[bot].svg")
    benchmark = BenchmarkFactory(slug="merge-bench", engine_spec="demo-cpu", queue="cpu")
    person = ContributorFactory(login="person-now")
    old = ContributorFactory(login="person-before", merged_into=person)
    SubmissionFactory(
        benchmark=benchmark,
        contributor=old,
        source="config",
        status="scored",
        result_attempt=1,
        mean_val_bpb=2.5,
        is_record=True,
    )
    assert "2.5000 bpb by person-now" in svg("/badges/record/merge-bench.svg")
    assert "holder · 2.5000 bpb" in svg("/badges/c/person-now/record/merge-bench.svg")
