"""`{{ url|github_link }}`: a link from a GitHub payload, rendered only when it is an https
address on the configured GitHub (mirrors stored before that rule may hold anything)."""

from typing import Any

from django import template

from contrib.github.payloads import github_web_url

register = template.Library()


@register.filter
def github_link(value: Any) -> str:
    return github_web_url(value)
