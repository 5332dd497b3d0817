"""A worker: a machine attached with a worker token that trains and scores runs."""

from django.conf import settings
from django.db import models


class Worker(models.Model):
    """A machine that trains and scores runs, attached with a worker token: it reaches the
    platform over its HTTP API (and its queues over the broker), never its database. Only a
    SHA-256 digest of the token is stored: the token is shown once."""

    name = models.CharField(max_length=100, unique=True)
    queues = models.JSONField(default=list, help_text="The benchmark queues it may take jobs of.")
    prefix = models.CharField(max_length=16, help_text="The first characters, to recognise it.")
    digest = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    host = models.CharField(max_length=200, blank=True, help_text="As the worker reports it.")
    devices = models.JSONField(default=list, blank=True, help_text="As the worker reports them.")
    jobs_done = models.PositiveIntegerField(default=0, help_text="Runs it finished.")
    calibration = models.JSONField(
        default=dict,
        blank=True,
        help_text="Per benchmark: the reference model's training bytes/s on this worker, as it "
        "measured them (at start, then at least daily).",
    )
    failures = models.PositiveIntegerField(default=0, help_text="Runs that failed on it.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
