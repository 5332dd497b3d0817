"""Statuses, the one PR comment, check runs and the webhook, asserted on the fake GitHub."""

from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from contrib.github.answers import (
    PULL_REQUEST_MARKER,
    check_run_set,
    commit_status_set,
    github_answer_send,
    pull_request_comment_set,
    repository_webhook_create,
)
from contrib.models import GitHubAnswer, Repository
from tests.factories import GitHubAnswerFactory, RepositoryFactory
from tests.github_server.server import FakeGitHub

pytestmark = pytest.mark.django_db

SHA = "c0ffee" + "0" * 34


@pytest.fixture
def repository(github_server: FakeGitHub) -> Repository:
    github_server.repo("acme/model")
    github_server.pull("acme/model", user="alice", head_sha=SHA)
    return RepositoryFactory(github_id=None, full_name="acme/model")


def comments_on(github_server: FakeGitHub, number: int) -> list[dict[str, Any]]:
    state = github_server.repos["acme/model"]
    return [c for c in state.issue_comments.values() if c["issue_url"].endswith(f"/{number}")]


def test_commit_status_with_description_and_link(
    github_server: FakeGitHub, repository: Repository, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        commit_status_set(
            repository=repository,
            sha=SHA,
            state="pending",
            description="Queued for evaluation",
            target_url="https://crucible.test/runs/1",
        )
    with django_capture_on_commit_callbacks(execute=True):
        answer = commit_status_set(
            repository=repository, sha=SHA, state="success", description="x" * 200
        )
    statuses = github_server.repos["acme/model"].statuses
    assert [(s["sha"], s["state"], s["context"]) for s in statuses] == [
        (SHA, "pending", "crucible"),
        (SHA, "success", "crucible"),
    ]
    assert statuses[0]["target_url"] == "https://crucible.test/runs/1"
    assert statuses[1]["target_url"] == "https://crucible.test"  # the platform by default
    assert len(statuses[1]["description"]) == 140
    answer.refresh_from_db()
    assert answer.state == "sent" and GitHubAnswer.objects.count() == 1
    with pytest.raises(ValueError, match="pending, success"):
        commit_status_set(repository=repository, sha=SHA, state="great", description="")


def test_one_pull_request_comment_edited_in_place(
    github_server: FakeGitHub, repository: Repository, django_capture_on_commit_callbacks: Any
) -> None:
    github_server.comment("acme/model", 1, user="bob", body="looks good")
    for text in ("Training…", "Done: 1.234 bits per byte"):
        with django_capture_on_commit_callbacks(execute=True):
            pull_request_comment_set(repository=repository, number=1, body=text)
    ours = [c for c in comments_on(github_server, 1) if PULL_REQUEST_MARKER in c["body"]]
    assert len(ours) == 1 and ours[0]["body"].endswith("Done: 1.234 bits per byte")
    writes = [(w.method, w.path.rsplit("/", 2)[-2]) for w in github_server.writes()]
    assert writes == [("POST", "1"), ("PATCH", "comments")]


def test_comment_found_again_by_its_marker_when_the_record_is_lost(
    github_server: FakeGitHub, repository: Repository, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        pull_request_comment_set(repository=repository, number=1, body="first")
    GitHubAnswer.objects.update(github_id=None)  # as if we never learnt its id
    with django_capture_on_commit_callbacks(execute=True):
        pull_request_comment_set(repository=repository, number=1, body="second")
    bodies = [c["body"] for c in comments_on(github_server, 1)]
    assert bodies == [f"{PULL_REQUEST_MARKER}\nsecond"]


@pytest.mark.parametrize("failure", ["502", "502-after", "secondary"])
def test_transient_failures_are_retried_by_the_task_without_a_second_comment(
    github_server: FakeGitHub,
    repository: Repository,
    django_capture_on_commit_callbacks: Any,
    failure: str,
) -> None:
    from contrib.tasks import send_github_answer

    github_server.fail_next(failure, method="POST", path_contains="/comments")
    with django_capture_on_commit_callbacks(execute=False):
        answer = pull_request_comment_set(repository=repository, number=1, body="hello")
    # The task as a worker runs it: the retry it asks for runs at once (no countdown here).
    send_github_answer.apply(args=[answer.pk], throw=False)
    assert len(comments_on(github_server, 1)) == 1
    answer.refresh_from_db()
    assert answer.state == "sent" and answer.attempts == 2 and answer.github_id


def test_a_permanent_failure_is_recorded_on_the_answer(
    github_server: FakeGitHub, repository: Repository
) -> None:
    answer = pull_request_comment_set(repository=repository, number=99, body="to nowhere")
    assert github_answer_send(answer_id=answer.pk) == "failed"
    answer.refresh_from_db()
    assert answer.state == "failed" and "404" in answer.error and answer.attempts == 1


def test_a_transient_failure_on_the_last_attempt_is_recorded_too(
    github_server: FakeGitHub, repository: Repository, settings: Any
) -> None:
    settings.GITHUB_RETRIES = 0
    github_server.fail_next("502", method="POST", count=5)
    answer = commit_status_set(repository=repository, sha=SHA, state="error", description="")
    assert github_answer_send(answer_id=answer.pk, final_attempt=True) == "failed"
    answer.refresh_from_db()
    assert answer.state == "failed" and "502" in answer.error


def test_check_runs_need_app_auth_and_are_edited_in_place(
    github_server: FakeGitHub,
    repository: Repository,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    assert check_run_set(repository=repository, sha=SHA, name="evaluation", status="queued") is None
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    settings.GITHUB_APP_ID = "4242"
    settings.GITHUB_APP_PRIVATE_KEY = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    repository.installation_id = 77
    repository.save()
    with django_capture_on_commit_callbacks(execute=True):
        check_run_set(repository=repository, sha=SHA, name="evaluation", status="in_progress")
    with django_capture_on_commit_callbacks(execute=True):
        check_run_set(
            repository=repository,
            sha=SHA,
            name="evaluation",
            status="completed",
            conclusion="success",
            title="1.234 bpb",
        )
    runs = list(github_server.repos["acme/model"].check_runs.values())
    assert len(runs) == 1
    assert (runs[0]["status"], runs[0]["conclusion"]) == ("completed", "success")
    assert runs[0]["output"]["title"] == "1.234 bpb"


def test_adding_a_repository_creates_its_webhook_once(
    github_server: FakeGitHub, repository: Repository, settings: Any
) -> None:
    settings.GITHUB_WEBHOOK_SECRET = "s3cret"
    assert repository_webhook_create(repository=repository)[0]
    done, message = repository_webhook_create(repository=repository)
    assert done and "already exists" in message
    hooks = list(github_server.repos["acme/model"].hooks.values())
    assert len(hooks) == 1
    assert hooks[0]["config"]["url"] == "https://crucible.test/webhooks/github/"
    assert hooks[0]["events"] == ["*"]
    sent = [w.body for w in github_server.writes() if w.path.endswith("/hooks")]
    assert sent[0]["config"]["secret"] == "s3cret" and sent[0]["config"]["content_type"] == "json"


def test_without_api_access_the_admin_is_told_what_to_paste(
    github_server: FakeGitHub, settings: Any
) -> None:
    repository = RepositoryFactory(github_id=None, full_name="acme/elsewhere")  # unknown to GitHub
    settings.GITHUB_WEBHOOK_SECRET = "s3cret"
    done, message = repository_webhook_create(repository=repository)
    assert not done
    assert "https://crucible.test/webhooks/github/" in message and "application/json" in message
    assert "s3cret" not in message


def test_admin_action_creates_the_webhook_and_new_models_have_admins(
    github_server: FakeGitHub,
    repository: Repository,
    settings: Any,
    admin_client: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.GITHUB_WEBHOOK_SECRET = "s3cret"
    response = admin_client.post(
        "/admin/contrib/repository/",
        {"action": "create_webhook", "_selected_action": [repository.pk]},
        follow=True,
    )
    assert b"webhook created" in response.content
    assert len(github_server.repos["acme/model"].hooks) == 1
    commit_status_set(repository=repository, sha=SHA, state="pending", description="")
    for model in ("githubanswer", "repositorysync", "botcommand"):
        assert admin_client.get(f"/admin/contrib/{model}/?q=x").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):  # queued once the action commits
        admin_client.post(
            "/admin/contrib/githubanswer/",
            {
                "action": "send_again",
                "_selected_action": list(GitHubAnswer.objects.values_list("pk", flat=True)),
            },
            follow=True,
        )
    assert GitHubAnswer.objects.get().state == "sent"


def test_a_newer_payload_saved_during_a_send_stays_pending_for_its_own_task(
    github_server: FakeGitHub, repository: Repository, monkeypatch: Any
) -> None:
    from contrib.github import answers

    send = answers._send_status

    def send_then_newer_arrives(gh: Any, answer: GitHubAnswer) -> None:
        send(gh, answer)
        commit_status_set(repository=repository, sha=SHA, state="success", description="done")

    monkeypatch.setattr(answers, "_send_status", send_then_newer_arrives)
    first = commit_status_set(repository=repository, sha=SHA, state="pending", description="")
    assert github_answer_send(answer_id=first.pk) == "pending"
    answer = GitHubAnswer.objects.get(pk=first.pk)
    assert answer.state == "pending" and answer.payload["state"] == "success"
    monkeypatch.setattr(answers, "_send_status", send)
    assert github_answer_send(answer_id=first.pk) == "sent"
    states = [s["state"] for s in github_server.repos["acme/model"].statuses]
    assert states == ["pending", "success"]


def test_an_answer_whose_message_was_lost_is_sent_by_the_periodic_resend(
    github_server: FakeGitHub, repository: Repository
) -> None:
    """The answer was stored but its message lost (a worker killed holding it): the beat's
    resend sends it, once."""
    from datetime import timedelta

    from django.utils import timezone

    from contrib.github.answers import github_answers_resend_stale

    answer = pull_request_comment_set(repository=repository, number=1, body="Scored")  # no commit
    assert github_answers_resend_stale() == 0  # not stale yet
    GitHubAnswer.objects.filter(pk=answer.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    assert github_answers_resend_stale() == 1
    assert GitHubAnswer.objects.get().state == "sent" and len(comments_on(github_server, 1)) == 1
    assert github_answers_resend_stale() == 0


def test_an_answer_being_sent_is_not_sent_again_at_the_same_time(
    github_server: FakeGitHub, repository: Repository, settings: Any
) -> None:
    """Two sends of one answer at once (a message delivered twice, the periodic resend): the
    second finds it claimed and leaves it, so GitHub never gets two new comments; a claim as
    old as `GITHUB_REQUEUE_AFTER` (its worker died) is taken over."""
    from datetime import timedelta

    from django.utils import timezone

    answer = GitHubAnswerFactory(
        repository=repository, kind=GitHubAnswer.Kind.COMMENT, key="comment:acme/model#1",
        target="1", payload={"number": 1, "body": f"{PULL_REQUEST_MARKER}\nScored"},
        sending_since=timezone.now(),  # another worker is sending it
    )  # fmt: skip
    assert github_answer_send(answer_id=answer.pk) == "pending"
    assert comments_on(github_server, 1) == []
    GitHubAnswer.objects.filter(pk=answer.pk).update(
        sending_since=timezone.now() - timedelta(seconds=settings.GITHUB_REQUEUE_AFTER + 1)
    )
    assert github_answer_send(answer_id=answer.pk) == "sent"
    assert len(comments_on(github_server, 1)) == 1
    assert GitHubAnswer.objects.get(pk=answer.pk).sending_since is None
    assert github_answer_send(answer_id=answer.pk) == "sent"  # a late duplicate: nothing
    assert len(comments_on(github_server, 1)) == 1
