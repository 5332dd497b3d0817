"""The soak's faults: what breaks, when, for how long, and how long the platform took to
recover.

Each fault starts, holds for its time, ends (the part comes back, as a supervisor or an operator
would bring it), and its recovery is measured from that end to the first sign the platform
works again end to end for what the fault broke: a probe delivery processed by the `default`
worker (web, database, broker, worker), the evaluation worker's next heartbeat, or every GitHub
answer sent. Windows are recorded for `soak_checks`: inside a database or broker window the site
may answer 503 with `Retry-After`, never an error page; outside every window it may not fail.
"""

import contextlib
import hashlib
import hmac
import json
import secrets
import signal
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.github_server.server import FakeGitHub
from tests.support.processes import Service
from tests.support.servers import PostgresServer, RedisServer

RECOVERY_LIMIT = 180.0  # seconds: longer counts as not recovered


@dataclass
class Platform:
    base_url: str
    secret: str
    repository: dict[str, Any]
    people: list[dict[str, Any]]
    postgres: PostgresServer
    redis: RedisServer
    github: FakeGitHub
    web: Service
    worker: Service
    beat: Service
    evaluator: Service
    evaluator_disk: Path | None
    probes: list[str] = field(default_factory=list)  # ledger keys the probe deliveries add


@dataclass
class Fault:
    name: str
    at: float  # seconds after the traffic starts
    hold: float  # seconds the part stays broken
    may_503: bool  # the database or the broker is down: 503 with Retry-After is right


def schedule(seconds: int, *, disk_full: bool) -> list[Fault]:
    """Every fault once, spread over the middle of the run, each held a few seconds (4 s in a
    two-minute run, 10 s in a ten-minute one)."""
    hold = max(4.0, min(10.0, seconds * 0.017))
    names = [
        ("kill -9 the default worker", False),
        ("PostgreSQL restart", True),
        ("GitHub 502, then secondary rate limit", False),
        ("kill -9 the evaluation worker", False),
        ("Redis restart", True),
        ("gunicorn HUP (web workers restarted)", False),
        ("kill -9 beat", False),
    ]
    if disk_full:
        names.append(("the evaluation worker's disk full", False))
    span = seconds * 0.7
    return [
        Fault(name, seconds * 0.1 + span * n / len(names), hold, may_503)
        for n, (name, may_503) in enumerate(names)
    ]


# --- probes -------------------------------------------------------------------------------------


def probe_delivery(platform: Platform) -> str:
    """Send one signed `issues` delivery until the site takes it; its delivery id."""
    delivery_id = f"probe-{secrets.token_hex(6)}"
    issue_id = 8_000_000_000 + secrets.randbelow(10**9)
    number = 2_000_000_000 + secrets.randbelow(10**8)
    body = json.dumps({
        "action": "opened",
        "issue": {"id": issue_id, "number": number, "title": "Probe", "state": "open",
                  "user": platform.people[0], "html_url": "https://github.com/x/y/issues/1",
                  "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
                  "labels": []},
        "repository": platform.repository,
        "sender": platform.people[0],
    }).encode()  # fmt: skip
    platform.probes.append(f"issue-opened:{issue_id}")
    signature = hmac.new(platform.secret.encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        f"{platform.base_url}/webhooks/github/", data=body, method="POST",
        headers={"Content-Type": "application/json", "X-GitHub-Event": "issues",
                 "X-GitHub-Delivery": delivery_id, "X-Hub-Signature-256": f"sha256={signature}"},
    )  # fmt: skip
    deadline = time.monotonic() + RECOVERY_LIMIT
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(urllib.error.URLError, OSError),
            urllib.request.urlopen(request, timeout=10) as answer,
        ):
            if answer.status in (200, 202):
                return delivery_id
        time.sleep(0.25)
    raise TimeoutError("the site took no delivery")


def _until(condition: Callable[[], bool]) -> bool:
    from django.db import close_old_connections

    deadline = time.monotonic() + RECOVERY_LIMIT
    while time.monotonic() < deadline:
        close_old_connections()
        try:
            if condition():
                return True
        except Exception:  # noqa: BLE001, S110 - the database may still be coming back
            pass
        time.sleep(0.25)
    return False


def delivery_processed(platform: Platform) -> bool:
    from contrib.models import WebhookDelivery

    delivery_id = probe_delivery(platform)
    return _until(
        lambda: WebhookDelivery.objects.filter(
            delivery_id=delivery_id, outcome=WebhookDelivery.Outcome.PROCESSED
        ).exists()
    )


def evaluator_heard(since: float) -> Callable[[Platform], bool]:
    def check(platform: Platform) -> bool:
        from datetime import UTC, datetime

        from evaluation.models import Worker

        moment = datetime.fromtimestamp(since, UTC)
        return _until(lambda: Worker.objects.filter(last_seen_at__gte=moment).exists())

    return check


def answers_pending() -> Callable[[Platform], bool]:
    """The bot commands and answers pending when GitHub came back (those it refused meanwhile):
    recovered once every one of them is done."""
    from django.db import close_old_connections

    from contrib.models import BotCommand, GitHubAnswer

    close_old_connections()
    answers = set(
        GitHubAnswer.objects.filter(state=GitHubAnswer.State.PENDING).values_list("pk", flat=True)
    )
    commands = set(
        BotCommand.objects.filter(state=BotCommand.State.PENDING).values_list("pk", flat=True)
    )

    def done() -> bool:
        pending_answers = GitHubAnswer.objects.filter(
            pk__in=answers, state=GitHubAnswer.State.PENDING
        )
        pending_commands = BotCommand.objects.filter(
            pk__in=commands, state=BotCommand.State.PENDING
        )
        return not pending_answers.exists() and not pending_commands.exists()

    return lambda platform: _until(done)


def _beat_sent(platform: Platform) -> int:
    return platform.beat.log.read_text(errors="replace").count("Sending due task")


def beat_sends(before: int) -> Callable[[Platform], bool]:
    """Beat, started again, sends its periodic tasks again (a line in its log per task)."""
    return lambda platform: _until(lambda: _beat_sent(platform) > before)


def site_answers(platform: Platform) -> bool:
    def ok() -> bool:
        with urllib.request.urlopen(f"{platform.base_url}/healthz/", timeout=5) as answer:
            return bool(answer.status == 200)

    return _until(ok)


# --- the faults -------------------------------------------------------------------------------


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    with filler.open("wb") as out, contextlib.suppress(OSError):
        while True:
            out.write(b"\0" * (1 << 20))
    return filler


def inject(platform: Platform, fault: Fault) -> Callable[[Platform], bool]:
    """Break, hold, mend; the recovery probe for this fault."""
    name, hold = fault.name, fault.hold
    if name.startswith("kill -9 the default worker"):
        platform.worker.restart(hold)
        return delivery_processed
    if name.startswith("kill -9 the evaluation worker"):
        platform.evaluator.restart(hold)
        return evaluator_heard(time.time())
    if name.startswith("kill -9 beat"):
        platform.beat.restart(hold)
        return beat_sends(_beat_sent(platform))
    if name.startswith("PostgreSQL"):
        platform.postgres.stop()
        time.sleep(hold)
        platform.postgres.start()
        return delivery_processed
    if name.startswith("Redis"):
        platform.redis.stop()
        time.sleep(hold)
        platform.redis.start()
        return delivery_processed
    if name.startswith("GitHub"):
        platform.github.fail_next("502", count=10**9)
        time.sleep(hold)
        platform.github.fail_clear()
        platform.github.fail_next("secondary", count=10**9)
        time.sleep(hold)
        platform.github.fail_clear()
        return answers_pending()
    if name.startswith("gunicorn"):
        platform.web.signal(signal.SIGHUP)
        time.sleep(hold)
        return site_answers
    if name.startswith("the evaluation worker's disk") and platform.evaluator_disk is not None:
        filler = _fill(platform.evaluator_disk)
        time.sleep(hold)
        filler.unlink()
        return evaluator_heard(time.time())
    raise ValueError(f"unknown fault {name!r}")


def run_schedule(
    platform: Platform, faults: list[Fault], started: float, windows: list[dict[str, Any]]
) -> list[threading.Thread]:
    """Inject each fault at its time; append its window and recovery to `windows` once its
    probe is done. Probes run beside the schedule (a slow recovery never delays the next
    fault); their threads are returned to be joined."""
    probes: list[threading.Thread] = []
    for fault in faults:
        time.sleep(max(0.0, started + fault.at - time.time()))
        begin = time.time()
        try:
            probe = inject(platform, fault)
        except Exception as exc:  # noqa: BLE001 - reported as a failed fault
            print(f"soak: fault {fault.name!r} could not run: {exc}", flush=True)
            probe = None
        end = time.time()
        thread = threading.Thread(
            target=_measure, args=(platform, fault, probe, begin, end, windows), daemon=True
        )
        thread.start()
        probes.append(thread)
    return probes


def _measure(
    platform: Platform,
    fault: Fault,
    probe: Callable[[Platform], bool] | None,
    begin: float,
    end: float,
    windows: list[dict[str, Any]],
) -> None:
    try:
        recovered = probe is not None and probe(platform)
    except Exception:  # noqa: BLE001 - not recovered
        recovered = False
    recovery = time.time() - end if recovered else None
    with _windows_lock:
        windows.append(
            {"name": fault.name, "start": begin, "end": end, "may_503": fault.may_503,
             "recovery": recovery}
        )  # fmt: skip
    print(
        f"soak: {fault.name}: {end - begin:.1f} s, "
        + (f"recovered in {recovery:.1f} s" if recovery is not None else "NOT recovered"),
        flush=True,
    )


_windows_lock = threading.Lock()


def supervise(services: list[Service], stop: threading.Event) -> None:
    """Start again any service that exits on its own, as systemd or Kubernetes would."""
    while not stop.wait(0.5):
        for service in services:
            if service.revive():
                print(f"soak: {service.name} exited on its own; started again", flush=True)
