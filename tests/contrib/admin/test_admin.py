"""Maintainers run the platform from the admin: every model browsable, actions via services."""

import pytest
from django.test import Client

from contrib.models import Contributor, ContributorMerge
from tests.factories import ContributionFactory, ContributorFactory, WebhookDeliveryFactory

pytestmark = pytest.mark.django_db

MODELS = [
    "contributor",
    "identity",
    "repository",
    "contribution",
    "scoringrule",
    "issue",
    "pullrequest",
    "contributormerge",
    "webhookdelivery",
    "honorroll",
    "badge",
    "award",
    "bounty",
    "docpage",
    "sponsorship",
]


@pytest.mark.parametrize("model", MODELS)
def test_every_model_has_a_searchable_admin(admin_client: Client, model: str) -> None:
    ContributionFactory()
    response = admin_client.get(f"/admin/contrib/{model}/?q=x")
    assert response.status_code == 200


def test_merge_and_mark_bot_actions(admin_client: Client) -> None:
    keep = ContributorFactory(login="mona", github_id=1)
    dup = ContributorFactory(login="mona-old-laptop", github_id=None)
    ContributionFactory(contributor=dup)
    response = admin_client.post(
        "/admin/contrib/contributor/",
        {"action": "merge_contributors", "_selected_action": [keep.pk, dup.pk]},
        follow=True,
    )
    assert b"Merged mona-old-laptop into mona" in response.content
    assert keep.contributions.count() == 1
    assert ContributorMerge.objects.get().merged_by.username == "admin"

    admin_client.post(
        "/admin/contrib/contributor/", {"action": "mark_bot", "_selected_action": [keep.pk]}
    )
    assert Contributor.objects.get(pk=keep.pk).is_bot


def test_ledger_rows_cannot_be_edited_or_deleted(admin_client: Client) -> None:
    row = ContributionFactory(title="original")
    admin_client.post(f"/admin/contrib/contribution/{row.pk}/change/", {"title": "rewritten"})
    row.refresh_from_db()
    assert row.title == "original"
    assert admin_client.get(f"/admin/contrib/contribution/{row.pk}/delete/").status_code == 403


def test_adding_a_manual_contribution_goes_through_the_ledger_service(admin_client: Client) -> None:
    person = ContributorFactory()
    response = admin_client.post(
        "/admin/contrib/contribution/add/",
        {
            "contributor": person.pk,
            "kind": "mentoring",
            "occurred_at_0": "2026-10-01",
            "occurred_at_1": "10:00:00",
            "title": "Mentored two newcomers",
            "url": "",
            "metadata": "{}",
        },
    )
    assert response.status_code == 302
    row = person.contributions.get()
    assert (row.source, row.kind) == ("manual", "mentoring")
    assert row.external_id.startswith("admin:")
    assert row.metadata["recorded_by"] == "admin"


def test_a_delivery_shows_its_payload_as_json_escaped(admin_client: Client) -> None:
    delivery = WebhookDeliveryFactory(payload={"action": "opened", "title": "<script>x</script>"})
    page = admin_client.get(f"/admin/contrib/webhookdelivery/{delivery.pk}/change/")
    assert page.status_code == 200
    assert b"&quot;title&quot;: &quot;&lt;script&gt;x&lt;/script&gt;&quot;" in page.content
    assert b'name="payload"' not in page.content  # a delivery is never edited


def test_a_login_another_github_account_holds_is_refused_by_the_form(admin_client: Client) -> None:
    ContributorFactory(login="taken", github_id=71)
    mine = ContributorFactory(login="mine", github_id=72)
    response = admin_client.post(
        f"/admin/contrib/contributor/{mine.pk}/change/",
        {
            "login": "TAKEN",
            "github_id": "72",
            "identities-TOTAL_FORMS": "0",
            "identities-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200  # the form again, not a server error
    assert "GitHub account 71 holds this login." in response.content.decode()
    mine.refresh_from_db()
    assert mine.login == "mine"
