"""The site's own 404 and 500 pages (in its layout, with its icon) and `/favicon.ico`."""

from typing import Any

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.urls import path

from tests.conftest import signed_headers
from tests.support.servers import free_port

pytestmark = pytest.mark.django_db


def _broken(request: object) -> None:
    raise RuntimeError("a bug on purpose")


urlpatterns = [path("broken/", _broken)]


def test_a_missing_page_is_the_sites_own_404() -> None:
    answer = Client().get("/c/nobody-at-all-here/")
    page = answer.content.decode()
    assert answer.status_code == 404
    assert "<h1>Not found</h1>" in page and 'class="brand"' in page
    assert "/c/nobody-at-all-here/" in page and "img/favicon.svg" in page


@override_settings(ROOT_URLCONF=__name__)
def test_a_server_error_is_the_sites_own_500_page() -> None:
    answer = Client(raise_request_exception=False).get("/broken/")
    page = answer.content.decode()
    assert answer.status_code == 500
    assert "Something went wrong on our side" in page and "RuntimeError" not in page


def test_the_favicon_is_found() -> None:
    answer = Client().get("/favicon.ico")
    assert answer.status_code == 301 and answer["Location"].endswith("img/favicon.svg")


def test_a_login_with_a_nul_is_not_found_on_every_database() -> None:
    """PostgreSQL refuses to compare text holding NUL: the look-up answers None before it asks
    (hypothesis found this on the profile page)."""
    for address in ("/c/a%00b/", "/api/contributors/a%00b/", "/badges/c/a%00b.svg"):
        assert Client().get(address).status_code == 404, address


@pytest.mark.django_db(transaction=True)
def test_the_database_out_of_reach_is_a_503_with_retry_after(settings: Any) -> None:
    """A real outage, not a mock: the connection's settings point where no database is (a
    folder that does not exist; a port nothing listens on), as during a restart. Pages, the API
    and the webhook answer 503 with `Retry-After`, from a page that needs no database."""
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent-crucible-folder/db.sqlite3"
    else:
        connection.settings_dict["PORT"] = str(free_port())
    body = b'{"zen": "Keep it logically awesome."}'
    try:
        client = Client(raise_request_exception=False)
        page = client.get("/honors/")
        api = client.get("/api/contributors/")
        webhook = client.post(
            "/webhooks/github/", data=body, content_type="application/json",
            headers=signed_headers(body, event="ping", delivery_id="during-an-outage"),
        )  # fmt: skip
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
    assert page.status_code == 503 and page["Retry-After"] == "30"
    assert "Briefly unavailable" in page.content.decode()
    for answer in (api, webhook):
        assert answer.status_code == 503 and answer["Retry-After"] == "30"
        assert "briefly unavailable" in answer.json()["error"]


def test_the_cache_out_of_reach_is_a_503_too(client: Client, settings: Any) -> None:
    """The shared cache is Redis (with the broker's) in production: down, restarting, it is a
    503 with `Retry-After`, as the database or the broker, not a 500."""
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
        },
    }
    client.raise_request_exception = False
    answer = client.post("/accounts/login/", {"login": "someone", "password": "wrong"})
    assert answer.status_code == 503 and answer["Retry-After"] == "30"
