"""A delivery's payload is kept as the text GitHub sent, not as jsonb, and PostgreSQL compresses
it (GitHub's run to 25 KB and more) with lz4 rather than its default pglz. Parsing into jsonb and
pglz were most of the database's time per intake (benchmarks/RESULTS.md). A server built without
lz4 keeps pglz."""

from django.db import DatabaseError, migrations, transaction

import contrib.models.github


def use_lz4(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = apps.get_model("contrib", "WebhookDelivery")._meta.db_table
    try:
        with transaction.atomic(using=schema_editor.connection.alias):  # a savepoint
            schema_editor.execute(
                f"ALTER TABLE {schema_editor.quote_name(table)} "
                "ALTER COLUMN payload SET COMPRESSION lz4"
            )
    except DatabaseError:
        pass  # PostgreSQL before 14, or built without lz4: pglz it stays


def use_default(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = apps.get_model("contrib", "WebhookDelivery")._meta.db_table
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute(
                f"ALTER TABLE {schema_editor.quote_name(table)} "
                "ALTER COLUMN payload SET COMPRESSION DEFAULT"
            )
    except DatabaseError:
        pass


class Migration(migrations.Migration):
    dependencies = [
        ("contrib", "0014_payload_as_received"),
    ]

    operations = [
        migrations.AlterField(
            model_name="webhookdelivery",
            name="payload",
            field=contrib.models.github.JSONText(),
        ),
        migrations.RunPython(use_lz4, use_default),
    ]
