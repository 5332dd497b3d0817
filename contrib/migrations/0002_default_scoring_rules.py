"""Default points per kind (a snapshot: later changes are made in the admin, not here)."""

from decimal import Decimal

from django.db import migrations

DEFAULTS = {
    "code": ("5", "A merged pull request or a commit"),
    "review": ("3", "A review or review comment"),
    "bug": ("2", "An issue reported"),
    "doc": ("4", "Documentation: docs commits, wiki edits, docs pages"),
    "question": ("1", "A question asked in Discussions"),
    "discussion": ("0.5", "A comment or reply; an accepted answer"),
    "test": ("4", "Tests"),
    "infra": ("4", "Infrastructure"),
    "maintenance": ("3", "Releases and upkeep"),
    "translation": ("3", "Translation"),
    "mentoring": ("3", "Mentoring"),
    "ideas": ("2", "Ideas and planning"),
    "evaluation": ("3", "A model change evaluated by the platform"),
    "sponsorship": ("5", "Sponsoring the project"),
}


def create_rules(apps, schema_editor):
    ScoringRule = apps.get_model("contrib", "ScoringRule")
    for kind, (points, description) in DEFAULTS.items():
        ScoringRule.objects.get_or_create(
            kind=kind, defaults={"points": Decimal(points), "description": description}
        )


class Migration(migrations.Migration):
    dependencies = [("contrib", "0001_initial")]

    operations = [migrations.RunPython(create_rules, migrations.RunPython.noop)]
