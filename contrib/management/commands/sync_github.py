"""`manage.py sync_github OWNER/REPO [--since DATE]`: backfill a repository's GitHub history.

Re-running adds nothing; an interrupted run resumes at the page it stopped on; a run without
`--since` is incremental from the last complete one (`--full` walks everything again).
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date, parse_datetime

from contrib.github.backfill import SyncAlreadyRunning, SyncProgress, repository_sync
from contrib.github.client import GitHubNotConfigured, GitHubRateLimitWaitTooLong
from contrib.mirrors import repository_get_or_create_from_github
from contrib.models import Repository


def _parse_since(value: str) -> datetime:
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(f"--since {value!r}: use YYYY-MM-DD or an ISO 8601 time")
        moment = datetime(day.year, day.month, day.day)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _duration(seconds: float | None) -> str:
    return "?" if seconds is None else str(timedelta(seconds=round(seconds)))


class Command(BaseCommand):
    help = "Backfill issues, pull requests, reviews, comments and commits of a GitHub repository."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("full_name", help="OWNER/REPO")
        parser.add_argument("--since", help="only what changed since this date (YYYY-MM-DD)")
        parser.add_argument("--full", action="store_true", help="ignore the last sync's date")
        parser.add_argument(
            "--restart", action="store_true", help="start over instead of resuming a stopped run"
        )

    def handle(
        self,
        *args: Any,
        full_name: str,
        since: str | None,
        full: bool,
        restart: bool,
        **options: Any,
    ) -> None:
        if full_name.count("/") != 1:
            raise CommandError("name the repository as OWNER/REPO")
        repository = Repository.objects.filter(full_name__iexact=full_name).first()
        if repository is None:
            repository = repository_get_or_create_from_github(repo={"full_name": full_name})
        interactive = self.stdout.isatty()

        def show(progress: SyncProgress) -> None:
            pages = f"{progress.page}/{progress.last_page or '?'}"
            left = progress.rate_limit_remaining
            left_text = "?" if left is None else str(left)
            line = (
                f"{progress.phase:<16} page {pages:<9} items {progress.items_done:<7} "
                f"requests {progress.requests_made:<6} "
                f"rate limit left {left_text:<6} "
                f"ETA {_duration(progress.eta_seconds)}"
            )
            if interactive:
                self.stdout.write(f"\r{line}", ending="")
                self.stdout.flush()
            else:
                self.stdout.write(line)

        try:
            sync = repository_sync(
                repository=repository,
                since=_parse_since(since) if since else None,
                full=full,
                restart=restart,
                progress=show,
            )
        except (GitHubRateLimitWaitTooLong, GitHubNotConfigured, SyncAlreadyRunning) as exc:
            raise CommandError(str(exc)) from exc
        if interactive:
            self.stdout.write("")
        self.stdout.write(
            self.style.SUCCESS(
                f"{repository.full_name}: {sync.items_done} items, {sync.requests_made} requests; "
                f"next incremental run from {sync.synced_until:%Y-%m-%d %H:%M} UTC"
            )
        )
