"""History backfill at scale: a synthetic repository of 20,000 issues and pull requests (with
comments, reviews, review comments and commits) on the local GitHub-compatible server, synced
through PyGithub over real HTTP.

Prints the API requests made against the minimum possible (one per list page of 100, one per PR
for its reviews, one per new commit for its files, plus the repository), items per second, and
the request count of an incremental re-sync after a handful of changes. Uses a fresh SQLite file
(or DATABASE_URL). Size: BENCH_ITEMS (issues + PRs, default 20,000).
"""

import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ITEMS = int(os.environ.get("BENCH_ITEMS", "20000"))


def main() -> None:
    var_dir = tempfile.mkdtemp(prefix="crucible-bench-sync-")
    os.environ["CRUCIBLE_VAR_DIR"] = var_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from contrib.github.backfill import repository_sync
    from contrib.models import Contribution, Issue, PullRequest, Repository
    from tests.github_server.server import FakeGitHub
    from tests.github_server.synthetic import build_repository, merge

    call_command("migrate", verbosity=0)
    fake = FakeGitHub().start()
    # 10,000 PRs need one reviews request each: more than a token's 5,000 an hour (the sync then
    # stops with a clear error and resumes after the reset). Measure with the 15,000 an hour of
    # a GitHub App installation on Enterprise Cloud instead.
    fake.rate_limit = fake.rate_remaining = 15_000
    # The fake's clock advances a minute per event; start it far enough back that the whole
    # history lies in the past, as a real repository's does.
    fake.clock = datetime.now(UTC) - timedelta(days=120)
    settings.GITHUB_API_URL = fake.api_url
    settings.GITHUB_TOKEN = "test-token"  # the token the fake accepts
    settings.GITHUB_SECONDS_BETWEEN_WRITES = 0.0
    try:
        started = time.perf_counter()
        build_repository(fake, "acme/model", issues=ITEMS // 2, pulls=ITEMS // 2, commits=200)
        state = fake.repos["acme/model"]
        print(
            f"synthetic repository: {len(state.issues):,} issues and PRs, "
            f"{len(state.pulls):,} PRs, {len(state.issue_comments):,} comments, "
            f"{len(state.review_comments):,} review comments, {len(state.commits):,} commits "
            f"(built in {time.perf_counter() - started:.1f} s)"
        )

        def pages(count: int) -> int:
            return max(1, -(-count // 100))

        minimum = (
            1
            + pages(len(state.issues))
            + pages(len(state.pulls))
            + len(state.pulls)
            + pages(len(state.issue_comments))
            + pages(len(state.review_comments))
            + pages(len(state.commits))
            + len(state.commits)
        )
        repository, _ = Repository.objects.get_or_create(full_name="acme/model")
        fake.requests.clear()
        started = time.perf_counter()
        record = repository_sync(repository=repository)
        elapsed = time.perf_counter() - started
        items = (
            Issue.objects.count()
            + PullRequest.objects.count()
            + len(state.issue_comments)
            + len(state.review_comments)
            + len(state.commits)
        )
        made = len(fake.gets())
        print(
            f"full backfill: {elapsed:.1f} s, {items:,} items, {items / elapsed:,.0f} items/s, "
            f"{Contribution.objects.count():,} ledger rows"
        )
        print(
            f"API requests: {made:,} made, {minimum:,} the minimum possible "
            f"(ratio {made / minimum:.3f}); state {record.state}"
        )

        fake.catch_up()
        fake.rate_remaining = fake.rate_limit  # the re-sync runs in a later hour
        fake.requests.clear()
        fake.comment("acme/model", 1, user="zoe")
        pull = fake.pull("acme/model", user="zoe", title="Late change")
        fake.review("acme/model", pull["number"], user="alice")
        merge(fake, "acme/model", pull["number"])
        fake.commit("acme/model", name="Zoe", email="zoe@example.org", user="zoe")
        before = Contribution.objects.count()
        started = time.perf_counter()
        repository_sync(repository=repository)
        print(
            f"incremental re-sync after 5 changes: {len(fake.gets())} requests, "
            f"{time.perf_counter() - started:.2f} s, "
            f"{Contribution.objects.count() - before} new ledger rows"
        )
        fake.requests.clear()
        again = Contribution.objects.count()
        repository_sync(repository=repository)
        print(
            f"re-sync with nothing new: {len(fake.gets())} requests, "
            f"{Contribution.objects.count() - again} new ledger rows"
        )
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
