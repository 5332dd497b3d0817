from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "evaluation"
    verbose_name = "Evaluation"

    def ready(self) -> None:
        # GitHub reaches evaluation through contrib's registries; contrib never imports us.
        from contrib.github.bot import register_command
        from contrib.github.registry import register
        from evaluation.github import (
            command_cancel,
            command_evaluate,
            comment_on_model_repository,
            handle_pull_request_submission,
        )

        register("pull_request")(handle_pull_request_submission)
        register_command("evaluate", command_evaluate, applies=comment_on_model_repository)
        register_command("cancel", command_cancel, applies=comment_on_model_repository)

        # Evaluation's sections on contrib's dashboard and profile pages.
        from evaluation.views.panels import contributing_panel, dashboard_panel, profile_panel
        from ui.panels import Panel, panel_register

        panel_register(
            page="dashboard",
            panel=Panel("evaluations", "evaluation/panels/dashboard.html", dashboard_panel),
        )
        panel_register(
            page="profile",
            panel=Panel("submissions", "evaluation/panels/profile.html", profile_panel),
        )
        panel_register(
            page="doc",
            panel=Panel("how-to-submit", "evaluation/panels/contributing.html", contributing_panel),
        )
