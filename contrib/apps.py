from django.apps import AppConfig


class ContribConfig(AppConfig):
    name = "contrib"
    verbose_name = "Contributors and contributions"

    def ready(self) -> None:
        # Registers the GitHub event handlers.
        from contrib.github import handlers  # noqa: F401
