"""Reading GitHub's payloads: the helpers the webhook handlers and the backfill share.

GitHub's real payloads omit optional fields freely: every field that is not guaranteed is read
with `.get`.
"""

from datetime import UTC, datetime
from fnmatch import fnmatch
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from contrib.contributors import contributor_get_or_create_from_github
from contrib.github.registry import DeliveryIgnored, Payload
from contrib.mirrors import repository_get_or_create_from_github
from contrib.models import Repository

DEFAULT_DOCS_PATHS = ["docs/*", "doc/*", "*.md", "*.rst", "mkdocs.yml", "*.ipynb"]


def github_web_url(value: Any) -> str:
    """``value`` if it is an https address on the configured GitHub (the host of
    ``GITHUB_OAUTH_URL``, github.com when it is not set), else "": a payload's link is never a
    `javascript:` or foreign URL."""
    url = str(value or "")
    parts = urlsplit(url)
    host = urlsplit(settings.GITHUB_OAUTH_URL).netloc.lower() or "github.com"
    if parts.scheme != "https" or parts.netloc.lower() != host:
        return ""
    return url


def parse_time(value: Any) -> datetime | None:
    """GitHub sends ISO 8601 strings, and Unix seconds in a few older fields."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC)
    parsed = parse_datetime(str(value))
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, UTC)
    return parsed


def tracked_repository(payload: Payload) -> Repository:
    repository = repository_get_or_create_from_github(repo=payload["repository"])
    if not repository.tracked:
        raise DeliveryIgnored(f"repository {repository.full_name} is not tracked")
    return repository


def labels(item: Payload) -> list[str]:
    return [label["name"] for label in item.get("labels") or [] if isinstance(label, dict)]


def item_fields(item: Payload) -> dict[str, Any]:
    """Fields common to issues and pull requests, as GitHub's issue/PR objects carry them."""
    return {
        "github_id": item.get("id"),
        "title": str(item.get("title") or "")[:500],
        "state": str(item.get("state") or "open"),
        "author": contributor_get_or_create_from_github(user=item.get("user")),
        "labels": labels(item),
        "html_url": github_web_url(item.get("html_url")),
        "created_at": parse_time(item.get("created_at")),
        "updated_at": parse_time(item.get("updated_at")),
        "closed_at": parse_time(item.get("closed_at")),
    }


def pull_request_fields(pr: Payload) -> dict[str, Any]:
    fields = item_fields(pr)
    head = pr.get("head") or {}
    base = pr.get("base") or {}
    fields.update(
        merged_at=parse_time(pr.get("merged_at")),
        head_sha=str(head.get("sha") or ""),
        head_ref=str(head.get("ref") or ""),
        base_ref=str(base.get("ref") or ""),
        draft=bool(pr.get("draft")),
    )
    return fields


def is_docs_only(paths: list[str], patterns: list[str]) -> bool:
    return bool(paths) and all(any(fnmatch(path, p) for p in patterns) for path in paths)
