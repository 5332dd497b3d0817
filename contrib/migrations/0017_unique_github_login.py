"""A login is one GitHub account's at a time. Records that share one (an account renamed and its
old name taken by another) are repaired before the constraint: the record updated last keeps the
login, the others take `name.gh<id>` until GitHub names their accounts again. Reversible."""

from django.db import migrations, models
from django.db.models import Count, Q
from django.db.models.functions import Lower

GITHUB_KNOWN = Q(github_id__isnull=False, merged_into__isnull=True) & ~Q(login="")


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    contributor_model = apps.get_model("contrib", "Contributor")
    shared = (
        contributor_model.objects.filter(GITHUB_KNOWN)
        .annotate(lowered=Lower("login"))
        .values("lowered")
        .annotate(rows=Count("id"))
        .filter(rows__gt=1)
        .values_list("lowered", flat=True)
    )
    for name in list(shared):
        holders = contributor_model.objects.filter(GITHUB_KNOWN, login__iexact=name).order_by(
            "-updated_at", "-pk"
        )
        for stale in list(holders)[1:]:
            suffix = f".gh{stale.github_id}"
            contributor_model.objects.filter(pk=stale.pk).update(
                login=stale.login[: 100 - len(suffix)] + suffix
            )


class Migration(migrations.Migration):
    dependencies = [("contrib", "0016_github_answer_claim")]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="contributor",
            constraint=models.UniqueConstraint(
                Lower("login"),
                condition=GITHUB_KNOWN,
                name="contributor_unique_github_login",
            ),
        ),
    ]
