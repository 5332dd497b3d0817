"""Per-contributor tallies of the ledger: always equal to a fresh GROUP BY of it, and what the
profile's score, counts and skills are served from."""

import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Count
from django.utils import timezone
from rest_framework.test import APIClient

from contrib.api.serializers import ContributorSerializer
from contrib.contributors import contributors_merge
from contrib.ledger import contribution_record, contribution_tallies_rebuild
from contrib.models import Contribution, ContributionTally, Contributor, ScoringRule
from contrib.scores import contributor_kind_counts, contributors_with_scores
from contrib.skills import AREA_BITS, AREAS, areas_in, areas_mask, areas_of, contributor_skills
from tests.factories import ContributionTallyFactory, ContributorFactory
from tests.support.processes import ROOT, platform_env

pytestmark = pytest.mark.django_db

Key = tuple[int, str, int]


def ledger_grouped() -> dict[Key, int]:
    """(contributor, kind, areas) → rows, counted afresh from the ledger."""
    rows = Contribution.objects.values_list("contributor_id", "kind", "areas").annotate(
        n=Count("id")
    )
    return {(c, k, a): n for c, k, a, n in rows.order_by()}


def tallied() -> dict[Key, int]:
    rows = ContributionTally.objects.filter(count__gt=0)
    return {(t.contributor_id, t.kind, t.areas): t.count for t in rows}


def record(contributor: Contributor, external_id: str, **fields: Any) -> tuple[Contribution, bool]:
    return contribution_record(
        contributor=contributor,
        kind=fields.pop("kind", "code"),
        occurred_at=fields.pop("occurred_at", timezone.now()),
        source=fields.pop("source", "github"),
        external_id=external_id,
        **fields,
    )


def a_mixed_ledger() -> tuple[Contributor, Contributor]:
    mona, hubot = ContributorFactory(login="mona"), ContributorFactory(login="hubot")
    paths = [["src/train.py"], ["model/attention.py", "docs/index.md"], [], ["ci/run.yml"]]
    for n in range(12):
        record(mona, f"commit:{n}", metadata={"paths": paths[n % 4]})
    record(mona, "pr:1", metadata={"labels": ["Evaluation", "docs"]})
    for n in range(5):
        record(mona, f"review:{n}", kind="review")
        record(hubot, f"doc:{n}", kind="doc", occurred_at=timezone.now() - timedelta(days=500))
    record(hubot, "bug:1", kind="bug")
    return mona, hubot


def test_areas_are_classified_when_recorded() -> None:
    mona = ContributorFactory()
    row, _ = record(mona, "c1", metadata={"paths": ["src/train.py", "docs/x.md", "README"]})
    assert areas_in(row.areas) == ["training", "docs"]
    row, _ = record(mona, "c2", metadata={"labels": ["CI", "unknown", 3]})
    assert areas_in(row.areas) == ["infra"]
    row, _ = record(mona, "c3")
    assert areas_in(row.areas) == ["model"]  # plain code is work on the model
    row, _ = record(mona, "r1", kind="review", metadata={"paths": ["src/train.py"]})
    assert areas_in(row.areas) == ["community"]  # the kind decides first
    for mask in range(1, 1 << len(AREAS)):  # every mask decodes to the areas it encodes
        assert sum(AREA_BITS[area] for area in areas_in(mask)) == mask


def test_tallies_equal_the_ledger_after_records_and_replays() -> None:
    mona, hubot = a_mixed_ledger()
    before = ledger_grouped()
    assert tallied() == before
    # Replays of the same facts, by webhook and by backfill, count nothing more.
    _row, created = record(mona, "commit:3", metadata={"paths": ["src/train.py"]})
    _row, created_by_sync = record(mona, "commit:4", source="sync")
    _row, created_manual = record(hubot, "bug:1", kind="bug")
    assert not (created or created_by_sync or created_manual)
    assert tallied() == ledger_grouped() == before
    assert sum(before.values()) == Contribution.objects.count() == 24


def test_a_record_rolled_back_with_its_transaction_is_not_counted() -> None:
    mona = ContributorFactory()
    record(mona, "kept")
    with pytest.raises(RuntimeError), transaction.atomic():
        record(mona, "lost")
        raise RuntimeError("the caller's transaction fails")
    assert tallied() == ledger_grouped() == {(mona.pk, "code", AREA_BITS["model"]): 1}


def test_merging_moves_the_tallies_with_the_rows() -> None:
    mona, hubot = a_mixed_ledger()
    hubot_kinds = dict(contributor_kind_counts(contributor=hubot))
    contributors_merge(source=hubot, target=mona)
    assert tallied() == ledger_grouped()
    assert not ContributionTally.objects.filter(contributor=hubot).exists()
    merged = dict(contributor_kind_counts(contributor=mona))
    assert merged["doc"] == hubot_kinds["doc"] == 5 and merged["bug"] == 1
    # A later event for the merged-away record lands on (and is counted for) the target.
    hubot.refresh_from_db()
    record(hubot, "later", kind="question")
    assert tallied() == ledger_grouped()
    assert dict(contributor_kind_counts(contributor=mona))["question"] == 1


def test_rebuild_recomputes_some_or_all_tallies_from_the_ledger() -> None:
    mona, hubot = a_mixed_ledger()
    good = tallied()
    ContributionTally.objects.filter(contributor=mona, kind="code").delete()
    ContributionTally.objects.filter(contributor=hubot).update(count=99)
    ContributionTallyFactory(contributor=hubot, kind="ideas", areas=1, count=3)

    contribution_tallies_rebuild(contributor_ids=[mona.pk])
    assert {k: n for k, n in tallied().items() if k[0] == mona.pk} == {
        k: n for k, n in good.items() if k[0] == mona.pk
    }
    assert tallied()[(hubot.pk, "doc", AREA_BITS["docs"])] == 99  # left alone
    written = contribution_tallies_rebuild()
    assert tallied() == ledger_grouped() == good
    assert written == len(good)
    assert contribution_tallies_rebuild(contributor_ids=[]) == 0


def test_skills_from_tallies_equal_classifying_every_row() -> None:
    mona, _hubot = a_mixed_ledger()
    credited: Counter[str] = Counter()
    for kind, metadata in mona.contributions.values_list("kind", "metadata"):
        credited.update(areas_of(kind, metadata))
    skills = {s["area"]: s["contributions"] for s in contributor_skills(contributor=mona)}
    assert skills == {area: credited[area] for area in AREAS}
    assert skills["training"] == 3 and skills["evaluation"] == 1 and skills["docs"] == 4


def test_kind_counts_of_the_page_come_from_the_tallies(django_assert_num_queries: Any) -> None:
    mona, _hubot = a_mixed_ledger()
    with django_assert_num_queries(1):
        counts = contributor_kind_counts(contributor=mona)
    assert counts == [("code", 13), ("review", 5)]


def test_profile_figures_equal_the_ledger_aggregate(django_assert_max_num_queries: Any) -> None:
    mona, hubot = a_mixed_ledger()
    ContributorFactory(login="nobody-yet")
    ScoringRule.objects.update_or_create(kind="review", defaults={"points": Decimal("1.25")})
    api = APIClient()
    for person in (mona, hubot, Contributor.objects.get(login="nobody-yet")):
        with django_assert_max_num_queries(4):
            body = api.get(f"/api/contributors/{person.login.upper()}/profile/").json()
        expected = ContributorSerializer(contributors_with_scores().get(pk=person.pk)).data
        assert {key: body[key] for key in expected} == expected
    assert body["score"] == "0.000" and body["contribution_count"] == 0
    mona_body = api.get("/api/contributors/mona/profile/").json()
    assert mona_body["score"] == "71.250"  # 13 × 5 + 5 × 1.25
    assert mona_body["counts"]["code"] == 13 and mona_body["counts"]["sponsorship"] == 0


def test_a_merged_away_login_leads_to_the_merged_record_in_the_api_as_on_the_page(
    client: Any,
) -> None:
    """One look-up for pages and API (it answered 404 in the API while the page followed)."""
    mona, hubot = a_mixed_ledger()
    contributors_merge(source=hubot, target=mona)
    api = APIClient()
    assert api.get("/api/contributors/hubot/profile/").json()["login"] == "mona"
    assert api.get("/api/contributors/HUBOT/").json()["login"] == "mona"
    assert "mona" in client.get("/c/hubot/", follow=True).content.decode()
    assert api.get("/api/contributors/nobody-at-all/profile/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_the_migration_classifies_and_counts_the_existing_ledger() -> None:
    executor = MigrationExecutor(connection)
    before = [("contrib", "0010_contribution_areas_tallies")]
    after = [("contrib", "0011_backfill_areas_tallies")]
    executor.migrate(before)
    apps = executor.loader.project_state(before).apps
    old_contributor = apps.get_model("contrib", "Contributor")
    old_contribution = apps.get_model("contrib", "Contribution")
    person = old_contributor.objects.create(login="old-timer")
    rows = [
        ("code", {"paths": ["src/optim.py"]}),
        ("code", {"labels": ["docs"], "paths": ["bench/x.py"]}),
        ("code", {}),
        ("code", {"paths": None}),
        ("review", {}),
        ("doc", {}),
    ]
    for n, (kind, metadata) in enumerate(rows):
        old_contribution.objects.create(
            contributor=person,
            kind=kind,
            occurred_at=timezone.now(),
            source="manual",
            external_id=f"old:{n}",
            metadata=metadata,
        )
    executor = MigrationExecutor(connection)
    executor.migrate(after)
    try:
        areas = dict(Contribution.objects.values_list("external_id", "areas"))
        assert areas == {
            f"old:{n}": areas_mask(kind, metadata) for n, (kind, metadata) in enumerate(rows)
        }
        assert areas_in(areas["old:1"]) == ["evaluation", "docs"]
        assert tallied() == ledger_grouped()
        assert sum(tallied().values()) == len(rows)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


RACER = """
import sys, time
import django
django.setup()
from django.utils import timezone
from contrib.models import Contributor
from contrib.ledger import contribution_record, contribution_tallies_rebuild
role, start_at = sys.argv[1], float(sys.argv[2])
people = [Contributor.objects.get_or_create(login=f"racer{n}")[0] for n in range(3)]
time.sleep(max(0.0, start_at - time.time()))
if role == "rebuild":
    for _ in range(15):
        contribution_tallies_rebuild()
else:
    for n in range(150):
        contribution_record(
            contributor=people[n % 3], kind=("code", "review")[n % 2], occurred_at=timezone.now(),
            source="manual", external_id=f"race:{role}:{n}",
            metadata={"paths": [("train.py", "docs/a.md")[n % 4 // 2]]},
        )
        # The other writer records the same facts too: replays must not be counted.
        contribution_record(
            contributor=people[n % 3], kind="bug", occurred_at=timezone.now(),
            source="github", external_id=f"race:shared:{n}",
        )
"""


@pytest.mark.integration
def test_concurrent_records_and_rebuilds_on_postgres(postgres_url: str) -> None:
    import psycopg

    # A database of its own (a unique name: other runs may share the server), as other tests
    # count rows in theirs.
    name = f"crucible_tallies_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        race_on(postgres_url.rsplit("/", 1)[0] + f"/{name}")
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def race_on(database_url: str) -> None:
    env = platform_env(DATABASE_URL=database_url)

    def run(*args: str, timeout: int = 300) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    run("migrate", "-v0")
    run(
        "shell",
        "-c",
        "from contrib.models import Contributor;"
        "[Contributor.objects.get_or_create(login=f'racer{n}') for n in range(3)]",
    )
    start_at = str(time.time() + 4)
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, role, start_at],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for role in ("one", "two", "rebuild")
    ]
    for worker in workers:
        output, _ = worker.communicate(timeout=300)
        assert worker.returncode == 0, output.decode()
    check = run(
        "shell",
        "-c",
        "from django.db.models import Count;"
        "from contrib.models import Contribution, ContributionTally as T;"
        "ledger = {(c, k, a): n for c, k, a, n in Contribution.objects.values_list("
        "'contributor_id', 'kind', 'areas').annotate(n=Count('id')).order_by()};"
        "tallies = dict(((t.contributor_id, t.kind, t.areas), t.count)"
        " for t in T.objects.filter(count__gt=0));"
        "print(ledger == tallies, sum(tallies.values()), Contribution.objects.count())",
    )
    assert check.strip().splitlines()[-1] == "True 450 450"
