"""`manage.py worker_broker_acl NAME [--apply]`: the Redis account of a worker, limited to its
queues' keys (README, "What a worker host can reach"). Prints the `ACL SETUSER` command and the
worker's `CELERY_BROKER_URL`; with `--apply`, runs it on the platform's own broker."""

import secrets
import shlex
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from evaluation.models import Worker
from evaluation.services import worker_broker_acl


class Command(BaseCommand):
    help = "Print (or apply) the Redis ACL user of a worker, limited to its queues."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("name")
        parser.add_argument("--apply", action="store_true", help="run it on CELERY_BROKER_URL")

    def handle(self, *args: Any, name: str, apply: bool, **options: Any) -> None:
        worker = Worker.objects.filter(name=name).first()
        if worker is None:
            raise CommandError(f"no worker named {name!r} (make one in the admin's Workers page)")
        username = f"crucible-worker-{worker.pk}"
        password = secrets.token_urlsafe(24)
        rules = worker_broker_acl(worker=worker, username=username, password=password)
        broker = settings.CELERY_BROKER_URL
        parts = urlsplit(broker)
        if parts.scheme not in ("redis", "rediss"):
            raise CommandError("the broker is not Redis: broker accounts need a Redis broker")
        host = parts.hostname or "localhost"
        netloc = f"{quote(username)}:{quote(password)}@{host}" + (
            f":{parts.port}" if parts.port else ""
        )
        worker_url = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
        if apply:
            import redis

            redis.Redis.from_url(broker).execute_command("ACL", "SETUSER", *rules)
            self.stdout.write(f"Broker account {username} set.")
        else:
            self.stdout.write("ACL SETUSER " + " ".join(shlex.quote(rule) for rule in rules))
        self.stdout.write(f"CELERY_BROKER_URL={worker_url}")
