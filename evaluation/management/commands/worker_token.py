"""`manage.py worker_token NAME --queues gpu[,cpu] [--file PATH]`: make a worker and print its
token (or write it to PATH, readable by its owner only); for an existing worker, a new token
(the old one stops working). The admin's Workers page does the same for people."""

import os
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from evaluation.models import Worker
from evaluation.services import worker_authenticate, worker_create, worker_rotate


class Command(BaseCommand):
    help = "Make a worker token (shown once), or a new one for an existing worker."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("name")
        parser.add_argument("--queues", default="gpu", help="comma-separated (default: gpu)")
        parser.add_argument(
            "--file",
            type=Path,
            help="write the token here (mode 0600) instead of printing it; a file that holds "
            "this worker's valid token already is kept",
        )

    def handle(self, *args: Any, name: str, queues: str, file: Path | None, **options: Any) -> None:
        if file is not None and file.is_file():
            held = worker_authenticate(key=file.read_text().strip())
            if held is not None and held.name == name:
                self.stdout.write(f"Worker {name}: its token in {file} is valid; kept.")
                return
        existing = Worker.objects.filter(name=name).first()
        try:
            if existing is None:
                worker, key = worker_create(name=name, queues=queues.split(","))
            else:
                worker, key = existing, worker_rotate(worker=existing)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        if file is None:
            self.stdout.write(key)
            return
        file.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(key + "\n")
        self.stdout.write(f"Worker {worker.name} ({', '.join(worker.queues)}): token in {file}.")
