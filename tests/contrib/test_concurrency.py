"""The same deliveries processed by two workers at once on PostgreSQL: nothing lost or doubled."""

import subprocess
import sys
import time

import pytest

from tests.support.processes import ROOT, platform_env

pytestmark = pytest.mark.integration


def run(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr


def query(env: dict[str, str], code: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_two_workers_processing_the_same_deliveries_on_postgres(postgres_url: str) -> None:
    env = platform_env(DATABASE_URL=postgres_url, CELERY_TASK_ALWAYS_EAGER="true")
    run(env, "manage.py", "migrate", "-v0")
    deliveries = 60
    run(env, "-m", "tests.support.race", "seed", str(deliveries))

    start_at = str(time.time() + 3)
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.support.race", "process", order, start_at],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for order in ("forward", "reverse")
    ]
    for worker in workers:
        output, _ = worker.communicate(timeout=300)
        assert worker.returncode == 0, output.decode()

    summary = query(
        env,
        (
            "from contrib.models import *; from django.db.models import Max;"
            "print(WebhookDelivery.objects.filter(outcome='processed').count(),"
            " WebhookDelivery.objects.aggregate(m=Max('attempts'))['m'],"
            " Contribution.objects.count(), Issue.objects.count(),"
            " Contributor.objects.filter(login__startswith='racer').count())"
        ),
    )
    # Every delivery processed exactly once; one row per comment; one issue; seven people.
    assert summary == f"{deliveries} 1 {deliveries} 1 7"
