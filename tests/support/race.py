"""Helpers run as separate processes by the concurrency test: `python -m tests.support.race
seed N` stores N pending deliveries; `process ORDER` processes all of them (forward/reverse)."""

import json
import sys
import time
from pathlib import Path

import django

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "github" / "issue_comment.created.json"


def main() -> None:
    django.setup()
    from contrib.github.services import webhook_delivery_process
    from contrib.models import WebhookDelivery
    from tests.factories import WebhookDeliveryFactory  # models load after django.setup()

    command = sys.argv[1]
    if command == "seed":
        base = json.loads(FIXTURE.read_text())
        for n in range(int(sys.argv[2])):
            payload = json.loads(json.dumps(base))
            payload["comment"]["id"] = 10_000 + n
            payload["comment"]["user"] = {
                "id": 500 + n % 7,
                "login": f"racer{n % 7}",
                "type": "User",
            }
            WebhookDeliveryFactory(
                delivery_id=f"race-{n}", event="issue_comment", action="created", payload=payload
            )
        return
    start_at = float(sys.argv[3])
    ids = list(WebhookDelivery.objects.order_by("pk").values_list("delivery_id", flat=True))
    if command == "process" and sys.argv[2] == "reverse":
        ids.reverse()
    time.sleep(max(0.0, start_at - time.time()))  # both processes start together
    for delivery_id in ids:
        webhook_delivery_process(delivery_id=delivery_id)


if __name__ == "__main__":
    main()
