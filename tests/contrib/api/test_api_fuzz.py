"""The whole API fuzzed from its OpenAPI schema (schemathesis, property-based): a live gunicorn
on a fresh demo database, as `make run` makes it, answers every generated request, anonymous
and with a maintainer's token, with no 5xx and exactly as the schema says (status codes,
bodies, content types, authentication, what it accepts and what it refuses).

Each run prints schemathesis's summary, so that CI's output shows what was tested."""

import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.processes import BIN, ROOT, gunicorn, platform_env

SEED = 20261201
# Test cases per operation and phase: about 35 s a run on two cores, 54 operations.
MAX_EXAMPLES = 10

# Every write refuses with a 400 some requests that the schema cannot tell from good ones: an
# id or a login that names nothing (an issue, a winner, a benchmark), a move that the bounty's
# or the submission's state does not allow, an edit that changes nothing, a config outside the
# benchmark's limits. So does a diff between revisions that the page does not have. This is
# schemathesis's own way to say so (`st explain ST202`): those operations may also answer a
# schema-valid request with 400. Every check runs, with its defaults everywhere else.
SCHEMATHESIS_CONFIG = """
[[operations]]
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = [
    "2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx",
]

[[operations]]
include-name = "GET /api/doc-pages/{slug}/diff/"
checks.positive_data_acceptance.expected-statuses = [
    "2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx",
]
"""

# A maintainer and an API token for them; first, proof that seeding only queued the demo's
# training (no worker runs here, so it waits in the file-system broker).
MAINTAINER_TOKEN = """
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from accounts.services import MAINTAINERS_GROUP, api_token_create
from evaluation.models import EvaluationRun, Submission

statuses = set(Submission.objects.values_list("status", flat=True))
assert statuses <= {"queued", "pending_approval"}, statuses  # the demo waits, untrained
assert not EvaluationRun.objects.exists()
user = get_user_model().objects.create_user("fuzz-maintainer", is_staff=True)
user.groups.add(Group.objects.get_or_create(name=MAINTAINERS_GROUP)[0])
print(api_token_create(user=user, name="schemathesis")[1])
"""


@contextlib.contextmanager
def own_database() -> Iterator[str | None]:
    """On CI's PostgreSQL pass (DATABASE_URL names a PostgreSQL server), a new database of the
    run's own on that server, dropped after; else None: SQLite in the run's folder, as
    `make run` has it."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        yield None
        return
    import psycopg

    name = f"crucible_fuzz_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as server:
        server.execute(f"DROP DATABASE IF EXISTS {name}")
        server.execute(f"CREATE DATABASE {name}")
    try:
        yield f"{url.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(url, autocommit=True) as server:
            server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"manage.py {args[0]}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """gunicorn on a new demo database of its own; yields its URL, a maintainer's token and a
    folder to work in."""
    env = platform_env(
        CRUCIBLE_VAR_DIR=str(tmp_path_factory.mktemp("fuzz-var")),
        # Wrong tokens are the ignored-auth check's probes; counted as failed sign-ins, they
        # would lock 127.0.0.1 out and leave the rest of the run answered 429 (the lock-out has
        # its own tests in tests/accounts/test_throttling.py).
        LOGIN_FAILURE_LIMIT="1000000",
        # gunicorn answers a request line over 4094 bytes with its own 414 page before Django
        # sees it (in production, so does the proxy in front); these runs test the API's answers.
        GUNICORN_CMD_ARGS="--limit-request-line 0",
    )
    # The file-system broker and the database cache under CRUCIBLE_VAR_DIR, whatever this
    # machine's settings, and no task run inline: the demo's training waits, queued.
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "CELERY_TASK_ALWAYS_EAGER"):
        env.pop(name, None)
    work = tmp_path_factory.mktemp("schemathesis")
    (work / "schemathesis.toml").write_text(SCHEMATHESIS_CONFIG)
    with own_database() as database_url:
        if database_url:
            env["DATABASE_URL"] = database_url
        manage(env, "migrate", "--noinput")
        manage(env, "seed_demo")
        manage(env, "seed_demo_benchmarks")
        token = manage(env, "shell", "--no-imports", "-c", MAINTAINER_TOKEN).split()[-1]
        with gunicorn(env) as url:
            yield url, token, work


@pytest.mark.parametrize("who", ["anonymous", "maintainer"])
def test_the_api_answers_every_generated_request_as_its_schema_says(
    demo_site: tuple[str, str, Path], who: str, record_property: Callable[[str, str], None]
) -> None:
    url, token, work = demo_site
    credentials = ["-H", f"Authorization: Token {token}"] if who == "maintainer" else []
    result = subprocess.run(
        [
            str(BIN / "schemathesis"),
            "--config-file",
            str(work / "schemathesis.toml"),
            "run",
            f"{url}/api/schema/",
            "--checks",
            "all",
            "--seed",
            str(SEED),
            "--max-examples",
            str(MAX_EXAMPLES),
            "--workers",
            "1",  # hypothesis's source inspection is not thread-safe (an error with 2)
            "--generation-database",
            "none",
            "--no-color",
            *credentials,
        ],
        cwd=work,  # its cache folder goes there, not into the checkout
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    summary = re.search(r"^=+ SUMMARY =+$.*", output, flags=re.MULTILINE | re.DOTALL)
    # Printed at the end of the run, also under xdist (whose workers' output is not shown).
    record_property(
        "summary", f"schemathesis, {who}:\n{summary.group(0) if summary else output[-4000:]}"
    )
    assert result.returncode == 0, output[-30_000:]
