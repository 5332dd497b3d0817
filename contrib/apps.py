from django.apps import AppConfig


class ContribConfig(AppConfig):
    name = "contrib"
    verbose_name = "Contributors and contributions"

    def ready(self) -> None:
        # Registers the GitHub event handlers and the bot's (their order: contrib.github.registry).
        from contrib.github import bot, handlers  # noqa: F401
