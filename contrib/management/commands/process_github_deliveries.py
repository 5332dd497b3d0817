"""`manage.py process_github_deliveries`: process stored deliveries in this process.

For recovery after an outage (`--pending`), a maintainer's fix (`--failed`, re-queued through
the same service as the admin action), or one delivery by id.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from contrib.github.services import webhook_deliveries_reprocess, webhook_delivery_process
from contrib.models import WebhookDelivery


class Command(BaseCommand):
    help = "Process pending GitHub deliveries now, or reset failed ones and process them."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("delivery_ids", nargs="*", help="X-GitHub-Delivery ids")
        parser.add_argument("--pending", action="store_true", help="every pending delivery")
        parser.add_argument("--failed", action="store_true", help="reprocess failed deliveries")

    def handle(
        self, *args: Any, delivery_ids: list[str], pending: bool, failed: bool, **options: Any
    ) -> None:
        ids = list(delivery_ids)
        if failed:
            failed_ids = list(
                WebhookDelivery.objects.filter(outcome=WebhookDelivery.Outcome.FAILED).values_list(
                    "delivery_id", flat=True
                )
            )
            webhook_deliveries_reprocess(delivery_ids=failed_ids)
            ids += failed_ids
        if pending:
            ids += WebhookDelivery.objects.filter(
                outcome=WebhookDelivery.Outcome.PENDING
            ).values_list("delivery_id", flat=True)
        if not ids:
            raise CommandError("name delivery ids, or use --pending / --failed")
        for delivery_id in dict.fromkeys(ids):
            try:
                outcome = webhook_delivery_process(delivery_id=delivery_id)
            except WebhookDelivery.DoesNotExist:
                raise CommandError(f"no delivery {delivery_id!r} is stored") from None
            self.stdout.write(f"{delivery_id}: {outcome}")
