"""GitHub traffic: webhook deliveries, the answers sent back, bot commands."""

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from contrib.models.repositories import Repository


class CheckedJSON:
    """JSON text already parsed and checked (a delivery's body): stored as it came, not parsed
    and written out again; `value` is what it parsed to."""

    def __init__(self, text: str, value: Any) -> None:
        self.text, self.value = text, value


class JSONText(models.TextField):
    """A JSON value kept as text: a delivery's payload, byte for byte as GitHub sent it (a
    `CheckedJSON`), neither written out again here nor parsed into jsonb by PostgreSQL, which
    cost half of an intake's time in the database (benchmarks/RESULTS.md). Read back as the
    value it parses to. Nothing queries inside it."""

    description = "JSON kept as text"
    _pyi_private_set_type: Any  # what django-stubs lets one assign and reads back
    _pyi_private_get_type: Any

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        return None if value is None else json.loads(value)

    def to_python(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError as exc:
            raise ValidationError(f"not JSON: {exc}") from None

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        return value.text if isinstance(value, CheckedJSON) else json.dumps(value)

    def value_to_string(self, obj: models.Model) -> str:
        return self.get_prep_value(self.value_from_object(obj)) or ""


class WebhookDelivery(models.Model):
    """A GitHub delivery as received, keyed by `X-GitHub-Delivery`, and what became of it."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored (event not mapped)"
        FAILED = "failed", "Failed"

    delivery_id = models.CharField(max_length=100, unique=True)
    event = models.CharField(max_length=100, db_index=True)
    action = models.CharField(max_length=100, blank=True)
    hook_id = models.BigIntegerField(null=True, blank=True)
    payload = JSONText()
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(
        max_length=20, choices=Outcome.choices, default=Outcome.PENDING, db_index=True
    )
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-received_at"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        suffix = f".{self.action}" if self.action else ""
        return f"{self.event}{suffix} {self.delivery_id}"


class GitHubAnswer(models.Model):
    """Something the platform writes back to GitHub, and what became of it.

    One row per target (a commit status context on a SHA, the platform comment of a PR, a check
    run, a bot reply): sending again edits the same GitHub object, and a permanent failure stays
    here with its error rather than being lost.
    """

    class Kind(models.TextChoices):
        STATUS = "status", "Commit status"
        COMMENT = "comment", "Pull request comment"
        CHECK_RUN = "check_run", "Check run"
        REPLY = "reply", "Bot reply"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="answers")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    key = models.CharField(max_length=255, unique=True)
    target = models.CharField(max_length=100, help_text="A commit SHA or an issue/PR number.")
    payload = models.JSONField(default=dict)
    state = models.CharField(
        max_length=20, choices=State.choices, default=State.PENDING, db_index=True
    )
    revision = models.PositiveIntegerField(
        default=1, help_text="Bumped by every new payload; a send only completes its own."
    )
    github_id = models.BigIntegerField(null=True, blank=True)
    html_url = models.URLField(max_length=1000, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    sending_since = models.DateTimeField(
        null=True, blank=True, help_text="Claimed by a worker sending it since then."
    )

    class Meta:
        ordering = ["-updated_at"]
        verbose_name = "GitHub answer"

    def __str__(self) -> str:
        return f"{self.kind} on {self.repository}@{self.target} ({self.state})"


class BotCommand(models.Model):
    """A `@crucible …` command found in an issue or PR comment, and its outcome."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        REJECTED = "rejected", "Rejected"
        FAILED = "failed", "Failed"

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="commands")
    comment_id = models.BigIntegerField()
    number = models.PositiveIntegerField(help_text="The issue or pull request it was posted on.")
    line = models.PositiveSmallIntegerField(default=0)
    author_login = models.CharField(max_length=100)
    author_github_id = models.BigIntegerField(null=True, blank=True)
    command = models.CharField(max_length=500)
    comment_url = models.URLField(max_length=1000, blank=True)
    state = models.CharField(
        max_length=20, choices=State.choices, default=State.PENDING, db_index=True
    )
    result = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["comment_id", "line"], name="bot_command_unique_line")
        ]

    def __str__(self) -> str:
        return f"{self.command!r} by {self.author_login} ({self.state})"
