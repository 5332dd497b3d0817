"""Repair logins that a local account shares with another contributor: the local account's
contributor (a platform user, no GitHub id) takes a local handle (`name.local`), so a name is
GitHub's own and look-ups never find two people. Reversible: the handles are kept."""

from django.db import migrations
from django.db.models import Count
from django.db.models.functions import Lower


def _handle(contributor_model, username: str) -> str:
    base = f"{username}.local"
    handle, n = base, 1
    while contributor_model.objects.filter(login__iexact=handle).exists():
        n += 1
        handle = f"{base}{n}"
    return handle


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    contributor_model = apps.get_model("contrib", "Contributor")
    shared = (
        contributor_model.objects.annotate(lowered=Lower("login"))
        .values("lowered")
        .annotate(rows=Count("id"))
        .filter(rows__gt=1)
        .values_list("lowered", flat=True)
    )
    for name in list(shared):
        for local in contributor_model.objects.filter(
            login__iexact=name, user__isnull=False, github_id__isnull=True
        ):
            local.login = _handle(contributor_model, local.login)
            local.save(update_fields=["login"])


class Migration(migrations.Migration):
    dependencies = [("contrib", "0011_backfill_areas_tallies")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
