"""The soak's traffic, a Locust file (`benchmarks/soak.py` runs it headless): GitHub's signed
webhooks of every mapped event (10 % redeliveries, some out of order), page views and API reads
by anonymous and signed-in people, config submissions within the quota.

It reads its set-up from the JSON file named by SOAK_CONFIG and writes one line per request to
the file named there (`requests`): the time, the endpoint group, the status, whether a 503 said
`Retry-After`, the latency; and one per webhook answered (`deliveries`), with the ledger keys
that delivery must add. `soak.py` checks the platform against those files.
"""

import hashlib
import hmac
import json
import os
import random
import threading
import time
from typing import Any

from locust import HttpUser, between, constant, events, task

from benchmarks.soak_payloads import Deliveries, Delivery

CONFIG = json.loads(open(os.environ["SOAK_CONFIG"]).read())  # noqa: SIM115
_lock = threading.Lock()
_requests = open(CONFIG["requests"], "a", buffering=1)  # noqa: SIM115
_deliveries = open(CONFIG["deliveries"], "a", buffering=1)  # noqa: SIM115


@events.request.add_listener
def _log_request(
    request_type: str, name: str, response_time: float, response: Any, exception: Any, **_: Any
) -> None:
    status = getattr(response, "status_code", 0) or 0
    retry_after = bool(response is not None and response.headers.get("Retry-After"))
    line = json.dumps(
        {"t": time.time(), "n": name, "s": status, "ra": retry_after, "ms": response_time}
    )
    with _lock:
        _requests.write(line + "\n")


class GitHub(HttpUser):
    """GitHub delivering webhooks to the site, redelivering one in ten."""

    fixed_count = CONFIG["senders"]
    wait_time = between(0.05, 0.4)

    def on_start(self) -> None:
        self.deliveries = Deliveries(
            repository=CONFIG["repository"],
            people=CONFIG["people"],
            maintainer=CONFIG["maintainer"],
            bot_issues=CONFIG["bot_issues"],
            bot_name=CONFIG["bot_name"],
            seed=random.randrange(1, 10**9),
        )
        self.sent: list[Delivery] = []

    def _send(self, delivery: Delivery, *, redelivery: bool) -> None:
        signature = hmac.new(CONFIG["secret"].encode(), delivery.body, hashlib.sha256).hexdigest()
        with self.client.post(
            "/webhooks/github/",
            data=delivery.body,
            headers={
                "Content-Type": "application/json",
                "X-GitHub-Event": delivery.event,
                "X-GitHub-Delivery": delivery.delivery_id,
                "X-Hub-Signature-256": f"sha256={signature}",
                "User-Agent": "GitHub-Hookshot/soak",
            },
            name="webhook",
            catch_response=True,
        ) as response:
            ok = 200 <= response.status_code < 300
            response.success() if ok or response.status_code == 503 else response.failure(
                f"{response.status_code}"
            )
        line = {
            "t": time.time(), "id": delivery.delivery_id, "event": delivery.event,
            "s": response.status_code, "expect": delivery.expect, "bot": delivery.bot_comment,
            "redelivery": redelivery,
        }  # fmt: skip
        with _lock:
            _deliveries.write(json.dumps(line) + "\n")
        if ok and not redelivery:
            self.sent.append(delivery)

    @task
    def deliver(self) -> None:
        if self.sent and random.random() < 0.1:
            self._send(random.choice(self.sent), redelivery=True)
            return
        for delivery in self.deliveries.pick():
            self._send(delivery, redelivery=False)


PAGES = [
    ("/", "page: dashboard"),
    ("/honors/", "page: honour roll"),
    ("/leaderboard/{benchmark}/", "page: leaderboard"),
    ("/c/{login}/", "page: profile"),
    ("/issues/", "page: issues"),
    ("/submissions/", "page: submissions"),
]
API = [
    ("/api/contributors/", "api: contributors"),
    ("/api/honor-rolls/", "api: honour rolls"),
    ("/api/benchmarks/{benchmark}/leaderboard/", "api: leaderboard"),
    ("/api/submissions/", "api: submissions"),
]


def _get(user: HttpUser, path: str, name: str, **headers: str) -> None:
    login = random.choice(CONFIG["people"])["login"]
    url = path.format(benchmark=CONFIG["benchmark"], login=login)
    with user.client.get(url, name=name, headers=headers, catch_response=True) as response:
        if response.status_code == 503 or response.status_code < 400:
            response.success()


class Visitor(HttpUser):
    """Someone reading the site and the API, not signed in."""

    weight = 3
    wait_time = between(0.5, 2.0)

    @task(3)
    def page(self) -> None:
        _get(self, *random.choice(PAGES))

    @task(1)
    def api(self) -> None:
        _get(self, *random.choice(API))


class Member(HttpUser):
    """A signed-in member: pages with their session, the API with their token."""

    weight = 2
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        self.member = random.choice(CONFIG["members"])

    @task(3)
    def page(self) -> None:
        _get(self, *random.choice(PAGES), Cookie=f"sessionid={self.member['session']}")

    @task(1)
    def api(self) -> None:
        _get(self, *random.choice(API), Authorization=f"Bearer {self.member['token']}")


class Submitter(HttpUser):
    """Members sending config submissions, each within their daily quota."""

    fixed_count = 1
    wait_time = constant(CONFIG["submit_every"])

    def on_start(self) -> None:
        self.left = {member["token"]: CONFIG["quota"] for member in CONFIG["members"]}

    @task
    def submit(self) -> None:
        tokens = [token for token, left in self.left.items() if left > 0]
        if not tokens:
            return
        token = random.choice(tokens)
        body = {
            "benchmark": CONFIG["benchmark"],
            "title": f"Soak config {random.randrange(10**6)}",
            "config": {"lr": round(random.uniform(0.001, 0.003), 5)},
        }
        with self.client.post(
            "/api/submissions/", json=body, headers={"Authorization": f"Bearer {token}"},
            name="api: submit a config", catch_response=True,
        ) as response:  # fmt: skip
            if response.status_code in (201, 503):
                response.success()
            if response.status_code == 201:
                self.left[token] -= 1
