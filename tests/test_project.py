"""Project-wide promises: migrations committed, deploy checks clean, the demo seed idempotent."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from contrib.models import (
    Award,
    Bounty,
    Contribution,
    ContributionKind,
    Contributor,
    DocPage,
    DocRevision,
    HonorRoll,
    Issue,
    PullRequest,
    Sponsorship,
)

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_platform_folder_is_not_a_python_package() -> None:
    assert not (ROOT / "platform" / "__init__.py").exists()
    import platform

    assert hasattr(platform, "python_version")  # the standard library's module


def test_no_model_change_lacks_a_migration() -> None:
    result = manage("makemigrations", "--check", "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr


def test_deploy_check_is_clean_in_production_mode(tmp_path: Path) -> None:
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "crucible.example.org",
            "DEBUG": "false",
            # A database with no tables, as on a fresh machine before `migrate`.
            "CRUCIBLE_VAR_DIR": str(tmp_path),
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key() -> None:
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.production"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_seed_demo_builds_a_community_once(client: Client) -> None:
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    counts = (
        Contributor.objects.count(),
        Contribution.objects.count(),
        Issue.objects.count(),
        PullRequest.objects.count(),
    )
    assert counts[0] >= 30 and counts[1] >= 300 and counts[2] > 0 and counts[3] > 0
    assert set(Contribution.objects.values_list("kind", flat=True)) == set(ContributionKind.values)
    # A frozen honour roll for each past month of the demo's year, in every category.
    assert HonorRoll.objects.filter(period="month").count() == 12 * len(HonorRoll.Category.values)
    assert Award.objects.exists()
    assert sorted(Bounty.objects.values_list("state", flat=True)) == ["awarded", "open"]
    assert Sponsorship.objects.filter(privacy_level="public").count() == 1
    assert sorted(DocPage.objects.values_list("slug", flat=True)) == [
        "contributing",
        "how-evaluation-works",
    ]
    assert DocRevision.objects.filter(page__slug="contributing").count() == 2
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert (
        Contributor.objects.count(),
        Contribution.objects.count(),
        Issue.objects.count(),
        PullRequest.objects.count(),
    ) == counts

    page = client.get("/")
    assert page.status_code == 200
    assert b"Top contributors" in page.content
    assert client.get("/healthz/").json() == {"status": "ok"}
