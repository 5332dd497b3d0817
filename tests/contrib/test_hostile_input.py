"""Ordinary hostile input gets a clear 400 (or a page without the bad part), never a 500:
impossible and far-away dates, huge numbers, deep nesting, too many keys, `javascript:` links."""

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from contrib.docs import doc_revision_create
from contrib.models import Issue
from evaluation.engine.specs import validate_config
from tests.conftest import load_payload, signed_headers

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("value", ["2026-13-45T00:00:00", "9999-12-31", "0001-01-01", "soon"])
def test_an_impossible_or_far_away_time_is_a_400_naming_the_parameter(value: str) -> None:
    api = APIClient()
    for name in ("since", "until"):
        response = api.get("/api/contributors/", {name: value})
        assert response.status_code == 400 and name in response.json()
    for path in ("/api/honor-rolls/", "/api/health/"):
        response = api.get(path, {"at": value})
        assert response.status_code == 400 and "at" in response.json()


def test_the_honour_roll_page_refuses_a_far_away_time_by_name(client: Client) -> None:
    for value in ("9999-12", "0001-01-01", "2026-13-45"):
        response = client.get("/honors/", {"at": value})
        assert response.status_code == 400 and "“at”" in response.content.decode()
    for name, value in (("period", "decade"), ("category", "x" * 5000)):
        response = client.get("/honors/", {name: value})
        assert response.status_code == 400 and f"“{name}”" in response.content.decode()
    assert client.get("/honors/", {"at": "", "period": "", "category": ""}).status_code == 200


def test_a_revision_number_beyond_any_integer_is_not_found() -> None:
    mona = User.objects.create_user("mona", password="pw-123456789")
    doc_revision_create(user=mona, title="Quick start", body="Install.\n")
    huge = "9" * 20
    response = APIClient().get(f"/api/doc-pages/quick-start/diff/?from=1&to={huge}")
    assert response.status_code == 400 and f"no revision {huge}" in response.json()["detail"]
    page = Client().get(f"/docs/quick-start/history/?from=1&to={huge}")
    assert page.status_code == 400 and "“to”" in page.content.decode()
    page = Client().get("/docs/quick-start/history/?from=1&to=7")
    assert page.status_code == 200 and "no revision 7" in page.content.decode()


def test_a_400_digit_integer_and_a_flood_of_custom_keys_are_refused_by_name() -> None:
    assert validate_config("demo-cpu", {"n_layer": 10**400}) == [("n_layer", "must be an integer")]
    assert validate_config("demo-cpu", {"custom_size": 10**400}) == [
        ("custom_size", "custom keys must hold a number, string, boolean or null")
    ]
    flood = {f"custom_{n}": n for n in range(100_000)}
    assert validate_config("demo-cpu", flood) == [("__all__", "at most 64 custom_* keys")]
    assert validate_config("demo-cpu", {"custom_note": "x" * 201}) == [
        ("custom_note", "at most 200 characters")
    ]


def test_a_config_too_large_or_too_deep_for_the_api_is_a_400() -> None:
    User.objects.create_user("mona", password="pw-123456789")
    api = APIClient()
    api.login(username="mona", password="pw-123456789")
    deep = "[" * 100_000 + "]" * 100_000
    body = '{"benchmark": "demo", "config": ' + deep + "}"
    response = api.generic("POST", "/api/submissions/", body, content_type="application/json")
    assert response.status_code == 400 and "nested too deeply" in response.json()["detail"]
    # Deep enough to walk, too deep for any body the API takes.
    body = '{"benchmark": "demo", "config": ' + "[" * 40 + "]" * 40 + "}"
    response = api.generic("POST", "/api/submissions/", body, content_type="application/json")
    assert response.status_code == 400 and "more than 32 levels" in response.json()["detail"]


def test_a_signed_webhook_nested_deeply_is_a_400(client: Client) -> None:
    for depth in (100_000, 200):
        body = ('{"a": ' * depth + "1" + "}" * depth).encode()
        response = client.post(
            "/webhooks/github/",
            data=body,
            content_type="application/json",
            headers=signed_headers(body, event="issues"),
        )
        assert response.status_code == 400 and "nested" in response.json()["error"]


def test_a_javascript_link_from_a_payload_is_never_rendered(
    client: Client, post_delivery: Any
) -> None:
    payload = load_payload("issues.opened")
    payload["issue"]["html_url"] = "javascript:alert(document.cookie)"
    payload["issue"]["labels"] = [{"name": "good first issue"}]
    post_delivery("issues", payload)
    assert Issue.objects.get().html_url == ""
    Issue.objects.update(html_url="javascript:alert(1)")  # a mirror stored before the rule
    page = client.get("/issues/").content.decode()
    assert "javascript:" not in page
    assert json.dumps(payload["repository"]["full_name"])[1:-1] in page


def test_payload_links_stay_on_the_configured_github(settings: Any) -> None:
    from contrib.github.payloads import github_web_url

    issue = "https://github.com/org/repo/issues/1"
    assert github_web_url(issue) == issue
    assert github_web_url("http://github.com/org/repo/issues/1") == ""
    assert github_web_url("https://github.com.evil.example/org/repo") == ""
    settings.GITHUB_OAUTH_URL = "https://ghe.example.org"
    assert github_web_url("https://ghe.example.org/org/repo/issues/1") != ""
    assert github_web_url(issue) == ""  # GitHub Enterprise's links only


def test_every_link_the_honour_roll_gives_is_a_page(client: Client) -> None:
    """At the edge of the years it reads, the roll's own links (periods, categories, previous)
    stay within them: none is refused."""
    import html
    import re

    for query in ("period=year&at=1970", "period=week&at=1970-01-01", "period=month&at=1970-01"):
        page = client.get(f"/honors/?{query}")
        assert page.status_code == 200, query
        links = set(re.findall(r'href="(/honors/\?[^"]*)"', page.content.decode()))
        assert links, query
        for link in links:
            assert client.get(html.unescape(link)).status_code == 200, (query, link)
