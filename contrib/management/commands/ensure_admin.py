"""`manage.py ensure_admin`: an admin account for the local site, its credentials printed."""

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from config.env import VAR_DIR


class Command(BaseCommand):
    help = "Create (once) the local admin user and print its credentials."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default="admin")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        # The password lives in var/ (never in the repository) so every `make run` can print it.
        credentials = VAR_DIR / "admin-password.txt"
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        if user is None or not credentials.exists():
            password = secrets.token_urlsafe(12)
            credentials.write_text(password + "\n")
            credentials.chmod(0o600)
            if user is None:
                user_model.objects.create_superuser(username=username, email="", password=password)
            else:
                user.set_password(password)
                user.save(update_fields=["password"])
        password = credentials.read_text().strip()
        self.stdout.write(
            self.style.SUCCESS(
                f"Admin: http://127.0.0.1:8000/admin/  user: {username}  password: {password}"
            )
        )
