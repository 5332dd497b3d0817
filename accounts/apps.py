from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    """People's accounts: sign-in with GitHub linked to their contributor, and API tokens."""

    name = "accounts"
    verbose_name = "API access"  # allauth's own app is already called "Accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts import receivers, schema  # noqa: F401 - connect receivers, describe auth

        post_migrate.connect(_create_cache_table, sender=self, dispatch_uid="accounts.cache")


def _create_cache_table(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """The database cache's table (sign-in throttling counts there when there is no Redis):
    made by every `migrate`, so that switching the cache to the database needs no extra step."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)
