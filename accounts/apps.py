from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """People's accounts: sign-in with GitHub linked to their contributor, and API tokens."""

    name = "accounts"
    verbose_name = "API access"  # allauth's own app is already called "Accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts import receivers, schema  # noqa: F401 - connect receivers, describe auth
