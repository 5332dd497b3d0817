"""Classify the skill areas of every ledger row recorded so far, then count the ledger into the
contributors' tallies.

The areas come from `contrib.skills.areas_mask`, the function `contribution_record` uses: a pure
function of (kind, metadata). The tallies are counted with this migration's own INSERT … SELECT
on the historical tables rather than by calling `contribution_tallies_rebuild`, so that later
changes to the live model or service cannot break this migration on a fresh database; the SQL
is the same.
"""

from collections import defaultdict

from django.db import migrations

CHUNK = 5000


def backfill_areas(apps, schema_editor):
    from contrib.skills import AREA_BITS, KIND_AREAS, areas_mask

    Contribution = apps.get_model("contrib", "Contribution")
    rows = Contribution.objects.using(schema_editor.connection.alias)
    # Most kinds grow one area whatever their metadata: one UPDATE per kind.
    for kind, area in KIND_AREAS.items():
        rows.filter(kind=kind).update(areas=AREA_BITS[area])
    # Code depends on the paths and labels in its metadata: classified in chunks.
    rest = rows.exclude(kind__in=list(KIND_AREAS)).order_by("pk")
    last = 0
    while batch := list(rest.filter(pk__gt=last).values_list("pk", "kind", "metadata")[:CHUNK]):
        by_mask = defaultdict(list)
        for pk, kind, metadata in batch:
            by_mask[areas_mask(kind, metadata)].append(pk)
        for mask, pks in by_mask.items():
            rows.filter(pk__in=pks).update(areas=mask)
        last = batch[-1][0]


def count_tallies(apps, schema_editor):
    quote = schema_editor.quote_name
    tally = quote(apps.get_model("contrib", "ContributionTally")._meta.db_table)
    ledger = quote(apps.get_model("contrib", "Contribution")._meta.db_table)
    schema_editor.execute(f"DELETE FROM {tally}")
    schema_editor.execute(
        f"INSERT INTO {tally} (contributor_id, kind, areas, count) "
        f"SELECT contributor_id, kind, areas, COUNT(*) FROM {ledger} "
        "GROUP BY contributor_id, kind, areas"
    )


class Migration(migrations.Migration):

    dependencies = [
        ("contrib", "0010_contribution_areas_tallies"),
    ]

    operations = [
        # Reversing 0010 drops the column and the table: nothing to undo here.
        migrations.RunPython(backfill_areas, migrations.RunPython.noop),
        migrations.RunPython(count_tallies, migrations.RunPython.noop),
    ]
