"""Honour rolls at scale: 50,000 contributors and 2,000,000 ledger rows on PostgreSQL.

Measures, on a throwaway PostgreSQL (or DATABASE_URL if it is PostgreSQL):
- computing and freezing one month's overall roll (goal ≤ 5 s),
- serving a frozen roll page of 100 rows through the API (goal ≤ 50 ms),
- one contributor's profile through the API (goal ≤ 50 ms),
- the month's community health figures,
and prints the query plans of the roll and profile queries, to show they use indexes, and the
time of each query of the busiest profile. After the COPY load (which bypasses
`contribution_record`), each row's skill areas are classified as they are when recorded and the
tallies are rebuilt from the ledger with `contribution_tallies_rebuild`; that is timed too.
Sizes: BENCH_CONTRIBUTORS, BENCH_ROWS.
"""

import io
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CONTRIBUTORS = int(os.environ.get("BENCH_CONTRIBUTORS", "50000"))
ROWS = int(os.environ.get("BENCH_ROWS", "2000000"))
KINDS = [
    "code",
    "review",
    "bug",
    "doc",
    "question",
    "discussion",
    "test",
    "infra",
    "maintenance",
    "evaluation",
]
# What a merged change touched, as the webhooks record it: classified into areas like live rows.
CODE_CHANGES = [
    {"paths": ["model/attention.py"]},
    {"paths": ["src/train.py", "src/optim.py"]},
    {"paths": ["eval/harness.py"]},
    {"paths": ["docs/guide.md", "model/layer.py"]},
    {"paths": [".github/workflows/ci.yml"]},
    {"labels": ["evaluation"], "paths": ["bench/run.py"]},
    {},
]


def timed(label: str, fn, repeat: int = 5) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    print(
        f"{label:<48} median {median * 1000:9.1f} ms  (best {min(times) * 1000:.1f} ms, "
        f"{repeat} runs)"
    )
    return median


def main() -> None:
    from tests.support import servers

    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        run(url)
        return
    reason = servers.postgres_missing()
    if reason:
        sys.exit(f"bench_honors needs PostgreSQL: {reason}")
    with servers.postgres_server() as url:
        run(url)


def run(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    os.environ["DEBUG"] = "false"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from contrib.health import community_health
    from contrib.honor_rolls import honor_roll_freeze, period_window
    from contrib.ledger import contribution_tallies_rebuild
    from contrib.models import ContributionTally, HonorRoll
    from contrib.skills import areas_mask

    call_command("migrate", verbosity=0)
    rng = random.Random(7)
    start = datetime(2025, 11, 1, tzinfo=UTC)
    span = (datetime(2026, 11, 1, tzinfo=UTC) - start).total_seconds()
    print(f"loading {CONTRIBUTORS:,} contributors and {ROWS:,} ledger rows into PostgreSQL…")
    began = time.perf_counter()
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor, for COPY
        with raw.copy(
            "COPY contrib_contributor (id, github_id, login, name, avatar_url, bio, company, "
            "location, blog, is_bot, created_at, updated_at) FROM STDIN"
        ) as copy:
            now = datetime.now(UTC)
            for n in range(1, CONTRIBUTORS + 1):
                copy.write_row(
                    (n, 10_000_000 + n, f"user{n}", "", "", "", "", "", "", n % 500 == 0, now, now)
                )
        # A few people do most of the work (Zipf-like), as in real projects.
        weights = [1 / (rank**1.1) for rank in range(1, CONTRIBUTORS + 1)]
        people = rng.choices(range(1, CONTRIBUTORS + 1), weights, k=ROWS)
        # (kind, metadata as JSON, areas as contribution_record classifies them)
        variants = {
            kind: [
                (json.dumps(change), areas_mask(kind, change))
                for change in (CODE_CHANGES if kind == "code" else [{}])
            ]
            for kind in KINDS
        }
        buffer = io.StringIO()
        for n, person in enumerate(people, start=1):
            at = start + timedelta(seconds=rng.random() * span)
            kind = rng.choice(KINDS)
            metadata, areas = rng.choice(variants[kind])
            buffer.write(
                f"{n}\t{person}\t{kind}\t{at.isoformat()}\tbench\t"
                f"\tmanual\tbench:{n}\t{metadata}\t{areas}\t{at.isoformat()}\n"
            )
        buffer.seek(0)
        with raw.copy(
            "COPY contrib_contribution (id, contributor_id, kind, occurred_at, title, url, source, "
            "external_id, metadata, areas, recorded_at) FROM STDIN"
        ) as copy:
            while chunk := buffer.read(1 << 20):
                copy.write(chunk)
        cursor.execute("SELECT setval('contrib_contributor_id_seq', %s)", [CONTRIBUTORS])
        cursor.execute("SELECT setval('contrib_contribution_id_seq', %s)", [ROWS])
        cursor.execute("ANALYZE")
    print(f"loaded in {time.perf_counter() - began:.1f} s; {os.cpu_count()} CPUs")
    began = time.perf_counter()
    tally_rows = contribution_tallies_rebuild()
    rebuild_s = time.perf_counter() - began
    print(
        f"{'rebuild all tallies from the ledger':<48} {rebuild_s * 1000:9.1f} ms  "
        f"({tally_rows:,} tally rows for {ROWS:,} ledger rows)"
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE contrib_contributiontally")

    month = period_window(period="month", at=datetime(2026, 10, 15, tzinfo=UTC))
    started = time.perf_counter()
    roll = honor_roll_freeze(window=month, category="overall")
    freeze_s = time.perf_counter() - started
    print(
        f"{'freeze October 2026 overall roll':<48} {freeze_s * 1000:9.1f} ms  "
        f"({roll.entries.count():,} people ranked; goal ≤ 5,000 ms)"
    )
    timed(
        "recompute it (explicit, recorded)",
        lambda: honor_roll_freeze(window=month, category="overall", recompute=True),
    )
    assert HonorRoll.objects.count() == 1

    client = Client(HTTP_HOST="127.0.0.1")
    page = "/api/honor-rolls/?period=month&at=2026-10&category=overall&limit=100"
    assert client.get(page).status_code == 200
    timed("serve the frozen roll, 100 rows (API)", lambda: client.get(page))
    top = roll.entries.order_by("rank").first()
    assert top is not None
    profile = f"/api/contributors/{top.contributor.login}/profile/"
    assert client.get(profile).status_code == 200
    timed(
        f"profile of the busiest contributor ({top.contributor.login})", lambda: client.get(profile)
    )
    timed(
        "profile of a typical contributor (user4321)",
        lambda: client.get("/api/contributors/user4321/profile/"),
    )
    timed("community health, October 2026", lambda: community_health(window=month), repeat=3)

    from contrib.scores import contribution_scores

    plan = contribution_scores(since=month.starts_at, until=month.ends_at).explain()
    print("\nplan of the roll aggregation (the month's rows found through an index):")
    print(plan)
    tallies = ContributionTally.objects.filter(
        contributor_id=top.contributor_id, count__gt=0
    ).values_list("kind", "areas", "count")
    print(f"\nplan of a profile's tally read ({len(tallies)} rows for the busiest contributor):")
    print(tallies.explain(analyze=True))

    queries: list[tuple[float, str]] = []

    def clock(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            queries.append((time.perf_counter() - started, sql))

    with connection.execute_wrapper(clock):
        started = time.perf_counter()
        client.get(profile)
        total = time.perf_counter() - started
    print(f"\nqueries of the busiest profile ({total * 1000:.1f} ms in all):")
    for seconds, sql in queries:
        print(f"  {seconds * 1000:7.2f} ms  {sql[:110]}")


if __name__ == "__main__":
    main()
