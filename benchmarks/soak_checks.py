"""The soak's invariants, checked against the platform's database, the local GitHub's record
of what it was sent, and the traffic's own logs; then the figures.

- every webhook that got a 2xx is stored once and processed exactly once (outcome processed or
  ignored, one committed attempt), and the ledger holds exactly the rows those deliveries add;
- every GitHub answer that was due (a bot reply per command comment) is sent, and GitHub got
  exactly one new comment for it;
- every submission is finished, or running with a fresh heartbeat;
- no 5xx outside the fault windows; inside a database or broker window, 5xx only as a 503 with
  `Retry-After` (never an error page);
- recovery after each fault within the limit.
"""

import json
import statistics
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from benchmarks.soak_faults import Platform
from tests.support.processes import Service

DRAIN_LIMIT = 300.0  # seconds after the traffic for queues to empty
GRACE = 10.0  # seconds after a database or broker window when 503s may still come
PAGE_GROUPS = ("page: dashboard", "page: honour roll", "page: leaderboard", "page: profile")
PAGE_P99_GOAL_MS = 200.0


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _accepted(deliveries_log: Path) -> dict[str, dict[str, Any]]:
    accepted: dict[str, dict[str, Any]] = {}
    for line in _lines(deliveries_log):
        if 200 <= line["s"] < 300:
            accepted.setdefault(line["id"], line)
    return accepted


def _unsettled(accepted_ids: list[str]) -> dict[str, int]:
    from contrib.models import BotCommand, GitHubAnswer, WebhookDelivery
    from evaluation.models import Submission

    pending = 0
    for start in range(0, len(accepted_ids), 1000):
        pending += WebhookDelivery.objects.filter(
            delivery_id__in=accepted_ids[start : start + 1000],
            outcome=WebhookDelivery.Outcome.PENDING,
        ).count()
    busy = (Submission.Status.QUEUED, Submission.Status.RUNNING)
    return {
        "deliveries pending": pending,
        "answers pending": GitHubAnswer.objects.filter(state=GitHubAnswer.State.PENDING).count(),
        "commands pending": BotCommand.objects.filter(state=BotCommand.State.PENDING).count(),
        "submissions queued or running": Submission.objects.filter(status__in=busy).count(),
    }


def drain(platform: Platform, deliveries_log: Path) -> dict[str, Any]:
    """Wait for the platform to finish what it was given; how long it took, what is left."""
    from django.db import close_old_connections

    ids = list(_accepted(deliveries_log))
    started = time.monotonic()
    left: dict[str, int] = {}
    while time.monotonic() - started < DRAIN_LIMIT:
        close_old_connections()
        left = _unsettled(ids)
        if not any(left.values()):
            break
        time.sleep(2)
    return {"seconds": time.monotonic() - started, "left": left}


def _quantiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return (values[0], values[0]) if values else (0.0, 0.0)
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[98]


def _in(windows: list[dict[str, Any]], moment: float, *, db_or_broker: bool) -> bool:
    return any(
        w["start"] <= moment <= w["end"] + (GRACE if w["may_503"] else 0)
        for w in windows
        if w["may_503"] or not db_or_broker
    )


def check_and_report(
    *,
    platform: Platform,
    requests_log: Path,
    deliveries_log: Path,
    windows: list[dict[str, Any]],
    started: float,
    ended: float,
    drained: dict[str, Any],
    services: list[Service],
) -> bool:
    """Print the invariants and the figures; True if an invariant failed."""
    from django.db import close_old_connections

    from contrib.github.answers import reply_marker
    from contrib.models import Contribution, ContributionSource, GitHubAnswer, WebhookDelivery
    from evaluation.models import EvaluationRun, Submission

    close_old_connections()
    failures: list[str] = []
    requests = _lines(requests_log)
    accepted = _accepted(deliveries_log)
    sent = _lines(deliveries_log)

    # Deliveries: stored once, processed exactly once.
    rows = {
        d["delivery_id"]: d
        for d in WebhookDelivery.objects.filter(delivery_id__in=list(accepted)).values(
            "delivery_id", "outcome", "attempts"
        )
    }
    lost = [i for i in accepted if i not in rows]
    stuck = [i for i, row in rows.items() if row["outcome"] == WebhookDelivery.Outcome.PENDING]
    failed = [i for i, row in rows.items() if row["outcome"] == WebhookDelivery.Outcome.FAILED]
    duplicated = [i for i, row in rows.items() if row["attempts"] > 1]
    expected = {key for line in accepted.values() for key in line["expect"]} | set(platform.probes)
    github_sources = (ContributionSource.GITHUB, ContributionSource.SYNC)
    ledger = Counter(
        Contribution.objects.filter(source__in=github_sources).values_list("external_id", flat=True)
    )
    missing_rows = sorted(expected - set(ledger))
    doubled_rows = sorted(key for key, n in ledger.items() if n > 1)
    unexpected_rows = sorted(key for key in ledger if key not in expected)
    print(
        f"deliveries: {len(sent)} sent ({sum(1 for s in sent if s['redelivery'])} redeliveries), "
        f"{len(accepted)} distinct ids answered 2xx; stored {len(rows)}; lost {len(lost)}, "
        f"pending {len(stuck)}, failed {len(failed)}, processed more than once {len(duplicated)}"
    )
    print(
        f"ledger: {len(expected)} rows expected, {len(expected) - len(missing_rows)} present, "
        f"{len(missing_rows)} missing, {len(doubled_rows)} doubled, {len(unexpected_rows)} "
        "from deliveries not answered 2xx"
    )
    by_event = Counter(line["event"] for line in accepted.values())
    print("events answered 2xx: " + ", ".join(f"{k} {v}" for k, v in sorted(by_event.items())))
    if lost or missing_rows:
        failures.append(f"lost: {len(lost)} deliveries, {len(missing_rows)} ledger rows")
    if stuck or failed:
        failures.append(f"deliveries not processed: {len(stuck)} pending, {len(failed)} failed")
    if duplicated or doubled_rows:
        failures.append(f"duplicated: {len(duplicated)} deliveries, {len(doubled_rows)} rows")

    # GitHub answers: each bot command comment answered by exactly one new comment.
    # The comments GitHub holds (a POST it refused made none; an edit makes no new one).
    due = [int(line["bot"]) for line in accepted.values() if line["bot"]]
    markers = {reply_marker(comment_id): comment_id for comment_id in due}
    comments_made: Counter[int] = Counter()
    with platform.github.lock:
        held = [
            c for state in platform.github.repos.values() for c in state.issue_comments.values()
        ]
    for comment in held:
        marker = str(comment.get("body", "")).split("\n", 1)[0]
        if marker in markers:
            comments_made[markers[marker]] += 1
    unanswered = [c for c in due if comments_made[c] == 0]
    twice = [c for c in due if comments_made[c] > 1]
    answers = Counter(GitHubAnswer.objects.values_list("state", flat=True))
    print(
        f"GitHub answers: {len(due)} bot replies due, {len(due) - len(unanswered)} posted, "
        f"{len(twice)} posted more than once; answers by state {dict(answers)}"
    )
    if unanswered or answers.get(GitHubAnswer.State.PENDING) or answers.get("failed"):
        failures.append(f"GitHub answers not sent: {len(unanswered)} replies missing")
    if twice:
        failures.append(f"GitHub answers sent twice: {len(twice)}")

    # Submissions: finished, or running with a fresh heartbeat.
    from django.conf import settings
    from django.utils import timezone

    fresh = timezone.now().timestamp() - settings.EVALUATION_HEARTBEAT_TIMEOUT
    states = Counter(Submission.objects.values_list("status", flat=True))
    stale = 0
    for submission in Submission.objects.filter(
        status__in=(Submission.Status.QUEUED, Submission.Status.RUNNING)
    ):
        beats = EvaluationRun.objects.filter(
            submission=submission, status=EvaluationRun.Status.RUNNING
        ).values_list("heartbeat_at", flat=True)
        if submission.status == Submission.Status.QUEUED or not any(
            b and b.timestamp() >= fresh for b in beats
        ):
            stale += 1
    print(f"submissions: {dict(states)}; stuck {stale}")
    for pk, reason in Submission.objects.filter(status=Submission.Status.FAILED).values_list(
        "pk", "reason"
    ):
        print(f"  submission {pk} failed: {reason[:300]}")
    if stale:
        failures.append(f"stuck submissions: {stale}")

    # HTTP: no 5xx outside the windows; inside database or broker windows, 503 + Retry-After.
    outside_5xx = [
        r for r in requests if r["s"] >= 500 and not _in(windows, r["t"], db_or_broker=True)
    ]
    bad_503 = [
        r for r in requests
        if r["s"] >= 500 and _in(windows, r["t"], db_or_broker=True)
        and not (r["s"] == 503 and r["ra"])
    ]  # fmt: skip
    unreachable = [r for r in requests if r["s"] == 0]
    in_windows = [r for r in requests if r["s"] == 503 and r["ra"]]
    print(
        f"HTTP: {len(requests)} requests in {ended - started:.0f} s "
        f"({len(requests) / max(1.0, ended - started):.1f} req/s); 5xx outside faults "
        f"{len(outside_5xx)}; 503 with Retry-After inside database/broker faults "
        f"{len(in_windows)}; "
        f"other 5xx inside them {len(bad_503)}; no answer {len(unreachable)}"
    )
    for r in (outside_5xx + bad_503)[:10]:
        print(f"  {r['s']} {r['n']} at +{r['t'] - started:.1f} s")
    if outside_5xx or bad_503 or unreachable:
        failures.append(
            f"HTTP errors: {len(outside_5xx)} 5xx outside faults, {len(bad_503)} not a 503 "
            f"with Retry-After inside, {len(unreachable)} unanswered"
        )

    # Latency per endpoint group: every answered request, and those outside every fault window
    # (and its recovery grace), where the pages' goal applies.
    times: dict[str, list[float]] = defaultdict(list)
    calm: dict[str, list[float]] = defaultdict(list)
    for r in requests:
        if 0 < r["s"] < 500:
            times[r["n"]].append(r["ms"])
            if not any(w["start"] <= r["t"] <= w["end"] + GRACE for w in windows):
                calm[r["n"]].append(r["ms"])
    print(f"{'endpoint group':<26} {'requests':>8} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'p99 outside faults':>19}")  # fmt: skip
    for name in sorted(times):
        p50, p99 = _quantiles(times[name])
        calm_p99 = _quantiles(calm[name])[1]
        print(f"{name:<26} {len(times[name]):>8} {p50:>8.1f} {p99:>8.1f} {calm_p99:>19.1f}")
    pages_p99 = _quantiles([ms for name in PAGE_GROUPS for ms in calm.get(name, [])])[1]
    page_rate = sum(len(times.get(name, [])) for name in PAGE_GROUPS) / max(1.0, ended - started)
    print(f"pages (dashboard, honour roll, leaderboard, profile) outside faults: p99 "
          f"{pages_p99:.1f} ms at {page_rate:.1f} of these pages/s and "
          f"{len(requests) / max(1.0, ended - started):.1f} requests/s in all "
          f"(goal < {PAGE_P99_GOAL_MS:.0f} ms)")  # fmt: skip
    if pages_p99 >= PAGE_P99_GOAL_MS:
        print(f"NOTE: the pages' p99 is over the {PAGE_P99_GOAL_MS:.0f} ms goal")

    # Faults and recovery.
    for w in windows:
        recovery = f"{w['recovery']:.1f} s" if w["recovery"] is not None else "NOT recovered"
        print(f"fault: {w['name']:<40} at +{w['start'] - started:5.1f} s for "
              f"{w['end'] - w['start']:4.1f} s, recovery {recovery}")  # fmt: skip
        if w["recovery"] is None:
            failures.append(f"no recovery after {w['name']}")
    print(f"drain: {drained['seconds']:.1f} s; left {drained['left']}")
    for service in services:
        for moment in service.unplanned_exits:
            print(f"supervisor: {service.name} exited on its own at +{moment - started:.1f} s "
                  "and was started again")  # fmt: skip

    for failure in failures:
        print(f"FAILED: {failure}")
    print(
        f"soak: requests={len(requests)} deliveries={len(accepted)} "
        f"lost={len(lost) + len(missing_rows)} "
        f"duplicated={len(duplicated) + len(doubled_rows) + len(twice)} "
        f"stuck={len(stuck) + stale + len(unanswered)} 5xx_outside_faults={len(outside_5xx)} "
        f"pages_p99_ms={pages_p99:.0f} {'FAILED' if failures else 'ok'}",
        flush=True,
    )
    return bool(failures)
