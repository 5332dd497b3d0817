"""GitHub events become ledger rows and mirrors, replayed from GitHub's real payloads."""

import copy
from typing import Any

import pytest
from django.test import Client

from contrib.contributors import GHOST_GITHUB_ID
from contrib.models import (
    Contribution,
    Contributor,
    Issue,
    PullRequest,
    Repository,
    WebhookDelivery,
)
from tests.conftest import load_payload
from tests.factories import RepositoryFactory

pytestmark = pytest.mark.django_db

OCTOCAT = {"login": "octocat", "id": 583231, "type": "User", "avatar_url": "https://x/o.png"}


def kinds() -> list[tuple[str, str]]:
    return sorted(Contribution.objects.values_list("contributor__login", "kind"))


def test_merged_pull_request_is_code_for_its_author(post_delivery) -> None:  # type: ignore[no-untyped-def]
    payload = load_payload("pull_request.closed")
    post_delivery("pull_request", payload)
    mirror = PullRequest.objects.get(number=2)
    assert mirror.state == "closed" and not mirror.merged
    assert kinds() == []  # closed without merge: no contribution

    merged = copy.deepcopy(payload)
    merged["pull_request"].update(
        merged=True, merged_at="2019-05-15T15:21:18Z", updated_at="2019-05-15T15:21:19Z"
    )
    post_delivery("pull_request", merged)
    assert kinds() == [("Codertocat", "code")]
    mirror.refresh_from_db()
    assert mirror.merged and mirror.head_sha == payload["pull_request"]["head"]["sha"]


def test_review_before_its_pull_request_creates_the_mirror_and_first_response(
    post_delivery,
) -> None:  # type: ignore[no-untyped-def]
    review = load_payload("pull_request_review.submitted")
    review["review"]["user"] = OCTOCAT  # someone other than the PR author
    post_delivery("pull_request_review", review)
    mirror = PullRequest.objects.get(number=2)
    assert mirror.first_response_at is not None
    assert kinds() == [("octocat", "review")]
    # The PR's own (older) events arriving later neither fail nor roll the mirror back.
    post_delivery("pull_request", load_payload("pull_request.opened"))
    assert WebhookDelivery.objects.filter(outcome="failed").count() == 0
    assert PullRequest.objects.count() == 1


def test_author_and_bot_comments_are_not_a_first_response(post_delivery) -> None:  # type: ignore[no-untyped-def]
    post_delivery("issues", load_payload("issues.opened"))
    own = load_payload("issue_comment.created")  # the issue's author comments on it
    post_delivery("issue_comment", own)
    bot = copy.deepcopy(own)
    bot["comment"].update(id=1, user={"login": "ci[bot]", "id": 99, "type": "Bot"})
    post_delivery("issue_comment", bot)
    issue = Issue.objects.get()
    assert issue.first_response_at is None
    human = copy.deepcopy(own)
    human["comment"].update(id=2, user=OCTOCAT, created_at="2019-05-15T16:00:00Z")
    post_delivery("issue_comment", human)
    issue.refresh_from_db()
    assert issue.first_response_time is not None
    assert issue.first_response_time.total_seconds() > 0
    assert kinds() == [
        ("Codertocat", "bug"),
        ("Codertocat", "discussion"),
        ("ci[bot]", "discussion"),
        ("octocat", "discussion"),
    ]
    assert Contributor.objects.get(login="ci[bot]").is_bot


def test_push_counts_each_commit_once_and_docs_only_commits_as_doc(post_delivery) -> None:  # type: ignore[no-untyped-def]
    payload = load_payload("push.event.5")
    base = payload["commits"][0]
    code = copy.deepcopy(base)
    code.update(id="a" * 40, added=["src/model.py"], modified=["docs/index.md"])
    by_email = copy.deepcopy(base)
    by_email.update(
        id="b" * 40, added=["train.py"], author={"name": "Mona", "email": "Mona@Example.com"}
    )
    same_person = copy.deepcopy(by_email)
    same_person.update(id="c" * 40, author={"name": "Mona L.", "email": "mona@example.com"})
    payload["commits"] = [base, code, by_email, same_person]
    post_delivery("push", payload)
    rows = list(
        Contribution.objects.order_by("external_id").values_list(
            "contributor__login", "contributor__name", "kind"
        )
    )
    # README.md only → doc; one person behind two spellings of an email counts as one.
    assert sorted(rows) == [
        ("", "Mona", "code"),
        ("", "Mona", "code"),
        ("Codertocat", "Codertocat", "code"),
        ("Codertocat", "Codertocat", "doc"),
    ]
    assert Contributor.objects.filter(name__startswith="Mona").count() == 1
    # The noreply address carries the GitHub id.
    assert Contributor.objects.get(login="Codertocat").github_id == 21031067
    post_delivery("push", payload)  # the same commits pushed again (another branch, say)
    assert Contribution.objects.count() == 4


def test_discussions_credit_asker_and_accepted_answer(post_delivery) -> None:  # type: ignore[no-untyped-def]
    created = load_payload("discussion.created")
    created["discussion"]["category"]["is_answerable"] = True
    post_delivery("discussion", created)
    answered = load_payload("discussion.answered")
    answered["answer"]["user"] = OCTOCAT
    post_delivery("discussion", answered)
    post_delivery("discussion_comment", load_payload("discussion_comment.created"))
    assert ("octocat", "discussion") in kinds()
    assert Contribution.objects.filter(kind="question").count() == 1
    answer = Contribution.objects.get(external_id__startswith="discussion-answer:")
    assert answer.metadata["answer"] is True


def test_wiki_release_and_sponsorship(post_delivery) -> None:  # type: ignore[no-untyped-def]
    post_delivery("gollum", load_payload("gollum.event"))
    post_delivery("release", load_payload("release.published"))
    response = post_delivery("sponsorship", load_payload("sponsorship.created"), delivery_id="sp")
    assert response.status_code == 202
    assert sorted(k for _login, k in kinds()) == ["doc", "maintenance", "sponsorship"]
    sponsorship = WebhookDelivery.objects.get(delivery_id="sp")
    assert sponsorship.outcome == "processed"
    assert sponsorship.payload["sponsorship"]["tier"]


def test_installation_tracks_and_untracks_repositories(post_delivery) -> None:  # type: ignore[no-untyped-def]
    post_delivery("installation", load_payload("installation.created"))
    repository = Repository.objects.get(full_name="Codertocat/Hello-World")
    assert repository.tracked and repository.installation_id
    removed = load_payload("installation_repositories.removed")
    post_delivery("installation_repositories", removed)
    names = {r["full_name"] for r in removed["repositories_removed"]}
    assert not Repository.objects.filter(full_name__in=names, tracked=True).exists()


def test_untracked_repository_events_are_ignored_with_the_reason(post_delivery) -> None:  # type: ignore[no-untyped-def]
    payload = load_payload("issues.opened")
    RepositoryFactory(
        full_name=payload["repository"]["full_name"],
        github_id=payload["repository"]["id"],
        tracked=False,
    )
    post_delivery("issues", payload, delivery_id="untracked")
    delivery = WebhookDelivery.objects.get(delivery_id="untracked")
    assert delivery.outcome == "ignored"
    assert "not tracked" in delivery.error
    assert Contribution.objects.count() == 0


def test_deleted_user_is_the_ghost_and_missing_optional_fields_are_fine(post_delivery) -> None:  # type: ignore[no-untyped-def]
    payload = load_payload("issues.opened")
    payload["issue"]["user"] = None
    for optional in ("labels", "closed_at", "updated_at", "html_url", "state"):
        payload["issue"].pop(optional, None)
    post_delivery("issues", payload, delivery_id="ghost")
    assert WebhookDelivery.objects.get(delivery_id="ghost").outcome == "processed"
    row = Contribution.objects.get()
    assert (row.contributor.login, row.contributor.github_id) == ("ghost", GHOST_GITHUB_ID)


def test_a_failing_handler_marks_the_delivery_failed_and_it_can_be_reprocessed(
    post_delivery,
    admin_client: Client,
    django_capture_on_commit_callbacks: Any,  # type: ignore[no-untyped-def]
) -> None:
    payload = load_payload("issues.opened")
    del payload["issue"]["number"]  # a payload we cannot map
    post_delivery("issues", payload, delivery_id="bad")
    delivery = WebhookDelivery.objects.get(delivery_id="bad")
    assert delivery.outcome == "failed"
    assert "number" in delivery.error
    assert Contribution.objects.count() == 0 and Issue.objects.count() == 0  # nothing half-done

    # The maintainer fixes the cause (here: the stored payload) and reprocesses from the admin.
    delivery.payload = load_payload("issues.opened")
    delivery.save()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/contrib/webhookdelivery/",
            {"action": "reprocess", "_selected_action": [delivery.pk]},
        )
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.outcome, delivery.attempts) == ("processed", 2)
    assert Contribution.objects.count() == 1


def test_renamed_user_keeps_one_record(post_delivery) -> None:  # type: ignore[no-untyped-def]
    post_delivery("issues", load_payload("issues.opened"))
    renamed = load_payload("issue_comment.created")
    renamed["comment"]["user"] = {**renamed["comment"]["user"], "login": "Codertocat-renamed"}
    post_delivery("issue_comment", renamed)
    person = Contributor.objects.get(github_id=21031067)
    assert person.login == "Codertocat-renamed"
    assert person.contributions.count() == 2
