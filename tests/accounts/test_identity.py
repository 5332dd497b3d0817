"""Nobody takes another's name: a contributor's GitHub identity comes only from GitHub, never
from a local account's username, and a shared name never makes a look-up fail."""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from contrib.contributors import (
    contributor_get_or_create_for_user,
    contributor_get_or_create_from_github,
)
from contrib.models import Contributor

pytestmark = pytest.mark.django_db


def test_a_local_account_named_like_a_github_user_never_becomes_them() -> None:
    squatter = User.objects.create_user("victim-gh", password="a-long-password-1")
    local = contributor_get_or_create_for_user(user=squatter)
    assert local.login == "victim-gh" and local.github_id is None

    # The real person appears in a webhook: a contributor of their own, not the local one.
    real = contributor_get_or_create_from_github(user={"id": 4242, "login": "victim-gh"})
    assert real.pk != local.pk and real.user_id is None and real.login == "victim-gh"
    local.refresh_from_db()
    assert local.github_id is None and local.user_id == squatter.pk
    assert local.login == "victim-gh.local"  # a clearly local handle, unlike any GitHub login


def test_signing_up_with_a_known_login_gets_a_local_handle_and_look_ups_hold(
    client: Client,
) -> None:
    contributor_get_or_create_from_github(user={"id": 777, "login": "Ada"})
    user = User.objects.create_user("ada", password="a-long-password-1")
    local = contributor_get_or_create_for_user(user=user)
    assert local.login == "ada.local" and local.github_id is None
    other = User.objects.create_user("ada.local", password="a-long-password-1")
    assert contributor_get_or_create_for_user(user=other).login == "ada.local.local"

    api = APIClient()
    for path in ("/api/contributors/ada/", "/api/contributors/ada/profile/"):
        response = api.get(path)
        assert response.status_code == 200 and response.json()["login"] == "Ada", path
    assert client.get("/c/ada/").status_code == 200
    assert api.get("/api/contributors/ada.local/").json()["login"] == "ada.local"


def test_a_login_seen_only_in_commits_is_still_claimed_by_its_github_user() -> None:
    from contrib.contributors import contributor_get_or_create_from_login

    from_commits = contributor_get_or_create_from_login(login="octo")
    claimed = contributor_get_or_create_from_github(user={"id": 99, "login": "octo"})
    assert claimed.pk == from_commits.pk and claimed.github_id == 99
    assert Contributor.objects.filter(login__iexact="octo").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_shared_logins_local_handles() -> None:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    before = [("contrib", "0011_backfill_areas_tallies")]
    executor.migrate(before)
    apps = executor.loader.project_state(before).apps
    old_contributor = apps.get_model("contrib", "Contributor")
    old_user = apps.get_model("auth", "User")
    squatter = old_user.objects.create(username="bo")
    old_contributor.objects.create(login="bo", github_id=5)
    old_contributor.objects.create(login="BO", user_id=squatter.pk)
    try:
        executor.loader.build_graph()
        executor.migrate([("contrib", "0012_local_handles")])
        assert sorted(Contributor.objects.values_list("login", flat=True)) == ["BO.local", "bo"]
        assert Contributor.objects.get(login="bo").github_id == 5
    finally:  # the latest schema again, for the tests that follow on this database
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


def test_a_commit_author_named_like_a_local_account_is_not_credited_to_it() -> None:
    from contrib.contributors import contributor_resolve_commit_author

    squatter = User.objects.create_user("victim-gh", password="a-long-password-1")
    local = contributor_get_or_create_for_user(user=squatter)
    author = contributor_resolve_commit_author(
        name="Victim", email="victim@example.org", username="victim-gh"
    )
    assert author.pk != local.pk and author.user_id is None and author.login == "victim-gh"
    local.refresh_from_db()
    assert local.login == "victim-gh.local"
    assert not local.identities.exists()  # the commit e-mail is the author's, not the squatter's
    # When GitHub names the account, it is the commits' author that becomes it.
    real = contributor_get_or_create_from_github(user={"id": 4243, "login": "victim-gh"})
    assert real.pk == author.pk and real.user_id is None


def test_a_login_is_one_github_accounts_at_a_time() -> None:
    from django.db import IntegrityError, transaction

    first = contributor_get_or_create_from_github(user={"id": 1, "login": "sam"})
    # `sam` renames to `sam-renamed`, and somebody else signs up on GitHub as `Sam`.
    second = contributor_get_or_create_from_github(user={"id": 2, "login": "Sam"})
    first.refresh_from_db()
    assert second.pk != first.pk and second.login == "Sam"
    assert first.login == "sam.gh1"  # not a GitHub login: no two people answer to `sam`
    assert Client().get("/c/sam/").context["contributor"].pk == second.pk
    # The next event that names the first account gives it its new login.
    assert contributor_get_or_create_from_github(user={"id": 1, "login": "sam-renamed"}) == first
    first.refresh_from_db()
    assert first.login == "sam-renamed"
    # The database itself holds the rule.
    with pytest.raises(IntegrityError), transaction.atomic():
        Contributor.objects.create(login="SAM", github_id=3)


@pytest.mark.django_db(transaction=True)
def test_the_migration_repairs_logins_two_github_accounts_share() -> None:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    before = [("contrib", "0016_github_answer_claim")]
    executor.migrate(before)
    apps = executor.loader.project_state(before).apps
    old_contributor = apps.get_model("contrib", "Contributor")
    old_contributor.objects.create(login="kim", github_id=10)
    newer = old_contributor.objects.create(login="Kim", github_id=11)
    old_contributor.objects.create(login="kim", github_id=None)  # seen in commits only
    try:
        executor.loader.build_graph()
        executor.migrate([("contrib", "0017_unique_github_login")])
        logins = dict(Contributor.objects.values_list("github_id", "login"))
        assert logins == {10: "kim.gh10", newer.github_id: "Kim", None: "kim"}
    finally:  # the latest schema again, for the tests that follow on this database
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


def test_a_forged_noreply_address_never_names_or_renames_an_account() -> None:
    from contrib.contributors import contributor_resolve_commit_author

    victim = contributor_get_or_create_from_github(user={"id": 5, "login": "victim"})
    # Anyone can write any address into a commit; GitHub matched it to no account (no username).
    forged = contributor_resolve_commit_author(
        name="Mallory", email="999+victim@users.noreply.github.com"
    )
    victim.refresh_from_db()
    assert forged.pk != victim.pk and victim.login == "victim"
    assert forged.github_id is None and forged.login == ""
    assert Client().get("/c/victim/").context["contributor"].pk == victim.pk
    # The victim's own id in the address finds them, and changes nothing.
    assert contributor_resolve_commit_author(email="5+victim@users.noreply.github.com") == victim
    # An old-style address without an id names no login either.
    other = contributor_resolve_commit_author(email="victim@users.noreply.github.com")
    assert other.pk != victim.pk and other.login == ""
    # With GitHub's own username for the address, it is that account.
    assert (
        contributor_resolve_commit_author(
            email="5+victim@users.noreply.github.com", username="victim"
        )
        == victim
    )
