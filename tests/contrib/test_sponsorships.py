"""GitHub Sponsors webhooks keep sponsorships current; private sponsors are never shown."""

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from contrib.models import Contribution, Sponsorship
from tests.conftest import load_payload

pytestmark = pytest.mark.django_db


def test_created_then_pending_tier_change_then_cancelled(post_delivery) -> None:  # type: ignore[no-untyped-def]
    post_delivery("sponsorship", load_payload("sponsorship.created"))
    record = Sponsorship.objects.get()
    assert (record.state, record.tier_name, record.monthly_price_in_cents) == (
        "active",
        "$5 a month",
        500,
    )
    row = Contribution.objects.get(kind="sponsorship")
    assert row.contributor == record.sponsor

    change = load_payload("sponsorship.pending_tier_change.2")
    change["sponsorship"]["privacy_level"] = "public"
    change["sponsorship"]["tier"].update(name="$10 a month", monthly_price_in_cents=1000)
    post_delivery("sponsorship", change)
    record.refresh_from_db()
    assert (record.tier_name, record.pending_tier_name) == ("$5 a month", "$10 a month")
    assert record.pending_effective_at.isoformat() == "2019-12-30T00:00:00+00:00"

    cancelled = load_payload("sponsorship.created")
    cancelled["action"] = "cancelled"
    post_delivery("sponsorship", cancelled)
    record.refresh_from_db()
    assert record.state == "cancelled" and record.cancelled_at is not None
    assert Contribution.objects.filter(kind="sponsorship").count() == 1


def test_private_sponsors_are_never_shown(post_delivery) -> None:  # type: ignore[no-untyped-def]
    private = load_payload("sponsorship.created")
    private["sponsorship"]["privacy_level"] = "private"
    post_delivery("sponsorship", private)
    assert Sponsorship.objects.get().privacy_level == "private"
    assert Contribution.objects.filter(kind="sponsorship").count() == 0
    assert APIClient().get("/api/sponsorships/").json()["count"] == 0

    public = load_payload("sponsorship.created")
    public["sponsorship"]["node_id"] = "another"
    post_delivery("sponsorship", public)
    listed = APIClient().get("/api/sponsorships/").json()
    assert listed["count"] == 1 and listed["results"][0]["tier_name"] == "$5 a month"


def test_a_private_sponsor_appears_nowhere_public_until_they_contribute(  # type: ignore[no-untyped-def]
    post_delivery, client
) -> None:
    from contrib.ledger import contribution_record
    from contrib.models import ContributionKind, ContributionSource

    private = load_payload("sponsorship.created")
    private["sponsorship"]["privacy_level"] = "private"
    post_delivery("sponsorship", private)
    sponsor = Sponsorship.objects.get().sponsor
    login = sponsor.login
    api = APIClient()
    for path in (
        f"/c/{login}/",
        f"/api/contributors/{login}/",
        f"/api/contributors/{login}/profile/",
    ):
        assert client.get(path).status_code == 404, path
    assert api.get("/api/contributors/", {"search": login}).json()["count"] == 0
    # On a community with benchmarks, scored submissions, docs and honours: every address
    # with each parameter filled from it.
    from contrib.docs import doc_revision_create
    from contrib.honor_rolls import honor_rolls_freeze_ended
    from tests.web.conftest import build_community

    community = build_community()
    writer = User.objects.create_user("writer", password="pw-123456789")
    doc_revision_create(user=writer, title="Guide", body="# Guide\n\nRun `make run`.\n")
    honor_rolls_freeze_ended()
    walked = public_paths(
        {
            "login": [community.star.login],
            "slug": [community.benchmark.slug, "guide"],
            "pk": [str(community.scored[0].pk), str(community.pr_submission.pk)],
            "kind": ["csv", "json", "svg", "md"],
            "format": ["json"],
            "action": ["cancel"],
        }
    )
    assert {"/", "/honors/", "/sponsors/", "/api/contributors/", "/api/sponsorships/"} <= walked
    assert {f"/c/{community.star.login}/", "/docs/guide/", "/submissions/export.csv"} <= walked
    assert len(walked) > 60, sorted(walked)
    for path in sorted(walked):
        response = client.get(path)
        # 301: /favicon.ico to its file; 400: a parameter left out; 401/403: not public;
        # 405: a write-only address
        assert response.status_code in (200, 301, 302, 400, 401, 403, 404, 405), path
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert login.lower() not in body.decode(errors="replace").lower(), path  # PNGs, tarballs
        if response["Content-Type"] == "application/json" and "results" in response.json():
            # Every page of a list, not only the first.
            while (next_url := response.json().get("next")) is not None:
                response = client.get(next_url)
                assert login.lower() not in response.content.decode().lower(), next_url

    # A contribution of their own makes them a public contributor in their own right.
    contribution_record(
        contributor=sponsor,
        kind=ContributionKind.CODE,
        occurred_at=sponsor.created_at,
        source=ContributionSource.MANUAL,
        external_id="own-work",
    )
    assert client.get(f"/c/{login}/").status_code == 200
    assert api.get("/api/contributors/", {"search": login}).json()["count"] == 1


def public_paths(values: dict[str, list[str]] | None = None) -> set[str]:
    """Every page and API endpoint that anyone may read: the whole URL map, walked, less
    sign-in, the admin, webhooks and one's own settings. A parameter in a path takes each of
    `values[name]` (the addresses it does not resolve to are left out); a path whose parameters
    have no values is left out."""
    import itertools
    import re

    from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve

    values = values or {}
    private = ("admin/", "accounts/", "api-auth/", "webhooks/", "account/", "api/schema/")
    parameter = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^()]*\)")
    found: set[str] = set()

    def filled(route: str) -> list[str]:
        names = [a or b for a, b in parameter.findall(route)]
        if any(name not in values for name in names):
            return []
        paths = []
        for combination in itertools.product(*(values[name] for name in names)):
            chosen = iter(combination)
            path = parameter.sub(lambda _match, chosen=chosen: next(chosen), route)
            path = path.removeprefix("^").removesuffix("$").replace("\\", "").removesuffix("/?")
            if not re.search(r"[()\[\]?*+|^$]", path):
                paths.append(path)
        return paths

    def walk(patterns: list, prefix: str) -> None:  # type: ignore[type-arg]
        for pattern in patterns:
            route = str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                for path in filled(route):
                    walk(pattern.url_patterns, prefix + path)
            elif isinstance(pattern, URLPattern):
                for path in filled(route):
                    full = "/" + prefix + path
                    if full.startswith(tuple("/" + p for p in private)):
                        continue
                    try:
                        resolve(full)
                    except Resolver404:
                        continue
                    found.add(full)

    walk(get_resolver().url_patterns, "")
    return found
