"""The contribution ledger: recording a contribution (once per source and external id), the
per-contributor tallies, and the scores derived from ledger × scoring rules in SQL."""

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F

from contrib.models import (
    GITHUB_SOURCES,
    Contribution,
    ContributionTally,
    Contributor,
    Repository,
)
from contrib.skills import areas_mask


def contributor_canonical(contributor: Contributor) -> Contributor:
    """The record a contributor was merged into, if any (following `merged_into`), so that new
    rows never land on a merged-away record."""
    seen = set()
    while contributor.merged_into_id is not None and contributor.pk not in seen:
        seen.add(contributor.pk)
        contributor = Contributor.objects.get(pk=contributor.merged_into_id)
    return contributor


def contribution_record(
    *,
    contributor: Contributor,
    kind: str,
    occurred_at: datetime,
    source: str,
    external_id: str,
    repository: Repository | None = None,
    title: str = "",
    url: str = "",
    metadata: Mapping[str, Any] | None = None,
) -> tuple[Contribution, bool]:
    """Append one contribution to the ledger, once: a replay returns the existing row.

    Returns `(row, created)`. Webhook (`github`) and backfill (`sync`) rows share one key space,
    so the same GitHub fact seen both ways is counted once.
    """
    same_key = Contribution.objects.filter(external_id=external_id)
    same_key = (
        same_key.filter(source__in=GITHUB_SOURCES)
        if source in GITHUB_SOURCES
        else same_key.filter(source=source)
    )
    existing = same_key.first()
    if existing is not None:
        return existing, False
    metadata = dict(metadata or {})
    try:
        with transaction.atomic():
            row = Contribution.objects.create(
                contributor=contributor_canonical(contributor),
                repository=repository,
                kind=kind,
                occurred_at=occurred_at,
                title=title[:500],
                url=url[:1000],
                source=source,
                external_id=external_id,
                metadata=metadata,
                areas=areas_mask(kind, metadata),
            )
            # In the row's transaction: a replay or a rollback never counts it.
            _tally_add(contributor_id=row.contributor_id, kind=row.kind, areas=row.areas)
    except IntegrityError:
        existing = same_key.first()
        if existing is None:
            raise
        return existing, False
    return row, True


def _tally_add(*, contributor_id: int, kind: str, areas: int) -> None:
    """Count one more ledger row in its tally, safe against concurrent writers: increment in
    place; else create the tally in a savepoint; if another transaction created it meanwhile
    (the unique constraint says so, once theirs commits), increment theirs."""
    tally = ContributionTally.objects.filter(contributor_id=contributor_id, kind=kind, areas=areas)
    for _attempt in range(3):
        if tally.update(count=F("count") + 1):
            return
        try:
            with transaction.atomic():
                ContributionTally.objects.create(
                    contributor_id=contributor_id, kind=kind, areas=areas, count=1
                )
            return
        except IntegrityError:
            continue
    raise IntegrityError(f"could not count a {kind} row of contributor #{contributor_id}")


def contribution_tallies_rebuild(*, contributor_ids: Iterable[int] | None = None) -> int:
    """Recompute the tallies of some contributors (all when `contributor_ids` is None) from the
    ledger with one grouped INSERT … SELECT. Returns the number of tally rows written.

    Used when rows move (`contributors_merge`), after a bulk load, and to repair. On PostgreSQL the
    tally table is locked against writers (readers go on) for the transaction, so a row recorded
    meanwhile is counted exactly once: either it is committed before the lock is granted and the
    SELECT sees it, or its increment waits for the rebuild to commit.
    """
    ids = None if contributor_ids is None else sorted(set(contributor_ids))
    tally_table = connection.ops.quote_name(ContributionTally._meta.db_table)
    ledger_table = connection.ops.quote_name(Contribution._meta.db_table)
    where, params = "", []
    if ids is not None:
        if not ids:
            return 0
        where = f" WHERE contributor_id IN ({', '.join(['%s'] * len(ids))})"
        params = ids
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {tally_table} IN EXCLUSIVE MODE")
        cursor.execute(f"DELETE FROM {tally_table}{where}", params)  # noqa: S608 - names are ours
        cursor.execute(
            f"INSERT INTO {tally_table} (contributor_id, kind, areas, count) "  # noqa: S608
            f"SELECT contributor_id, kind, areas, COUNT(*) FROM {ledger_table}{where} "
            "GROUP BY contributor_id, kind, areas",
            params,
        )
        return max(cursor.rowcount, 0)
