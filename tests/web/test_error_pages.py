"""The site's own 404 and 500 pages (in its layout, with its icon) and `/favicon.ico`."""

import pytest
from django.test import Client, override_settings
from django.urls import path

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
