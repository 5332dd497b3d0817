"""Community docs pages and their revisions."""

from django.conf import settings
from django.db import models


class DocPage(models.Model):
    """A community documentation page; its text lives in its revisions (the newest is current)."""

    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class DocRevision(models.Model):
    page = models.ForeignKey(DocPage, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField(help_text="Markdown.")
    message = models.CharField(max_length=300, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["page", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["page", "number"], name="doc_revision_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.page.slug} r{self.number}"
