"""Pull requests in: a signed `pull_request` delivery on a tracked model repository becomes a
submission at its head SHA; approval rules, supersede, `@crucible evaluate` / `cancel`; commit
statuses and the one PR comment out, as the fake GitHub records them."""

import html
import re
import shutil
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from contrib.models import BotCommand, PullRequest, Repository
from evaluation.models import Benchmark, EvaluationRun, Submission
from tests.evaluation.conftest import (
    FULL_NAME,
    ModelRepoGitHub,
    comment_payload,
    only,
    open_pull,
    pull_request_payload,
    submission_files,
)
from tests.factories import (
    ContributorFactory,
    EvaluationRunFactory,
    PullRequestFactory,
    SubmissionFactory,
)
from tests.support.worker import evaluate_now

pytestmark = pytest.mark.django_db
Status = Submission.Status
SHA1, SHA2, SHA3 = "a" * 40, "b" * 40, "c" * 40


def test_a_maintainers_pr_is_queued_at_its_head_sha_with_a_pending_status(
    fake_github: ModelRepoGitHub, demo: Benchmark, enqueued: list[int], post_delivery: Any
) -> None:
    number = open_pull(fake_github, user="maintainer", sha=SHA1)
    assert (
        post_delivery("pull_request", pull_request_payload(fake_github, number=number)).status_code
        == 202
    )

    submission = only(Submission.objects.all())
    assert (submission.source, submission.status) == ("pull_request", Status.QUEUED)
    assert (submission.pr_number, submission.head_sha) == (number, SHA1)
    assert submission.folder == "submissions/demo/wider"
    assert submission.repository.full_name == FULL_NAME
    assert submission.contributor.login == "maintainer" and not submission.official
    assert enqueued == [submission.pk]
    [status] = fake_github.statuses(SHA1)
    assert status["state"] == "pending" and status["context"] == "crucible/demo"
    assert status["target_url"] == f"https://crucible.test/submissions/{submission.pk}/"
    assert "queued" in status["description"]
    # The PR's files were listed through the client, and the same SHA again adds nothing.
    assert fake_github.gets(f"/pulls/{number}/files")
    post_delivery(
        "pull_request", pull_request_payload(fake_github, number=number, action="reopened")
    )
    assert Submission.objects.count() == 1 and enqueued == [submission.pk]


def test_a_newcomer_waits_for_approval_an_author_with_a_merged_pr_does_not(
    fake_github: ModelRepoGitHub,
    demo: Benchmark,
    model_repo: Repository,
    enqueued: list[int],
    post_delivery: Any,
) -> None:
    number = open_pull(fake_github, user="newcomer", sha=SHA1)
    post_delivery("pull_request", pull_request_payload(fake_github, number=number))
    waiting = only(Submission.objects.filter(head_sha=SHA1))
    assert waiting.status == Status.PENDING_APPROVAL and enqueued == []
    [status] = fake_github.statuses(SHA1)
    assert status["state"] == "pending" and "approval" in status["description"]

    # Codertocat had a pull request merged here before: trusted, runs at once.
    author = ContributorFactory(login="Codertocat", github_id=21031067)
    PullRequestFactory(repository=model_repo, number=99, author=author, merged_at=timezone.now())
    number = open_pull(fake_github, user="Codertocat", sha=SHA2)
    post_delivery("pull_request", pull_request_payload(fake_github, number=number))
    trusted = only(Submission.objects.filter(head_sha=SHA2))
    assert trusted.status == Status.QUEUED and enqueued == [trusted.pk]
    assert trusted.contributor == author


def test_prs_outside_the_folder_or_on_other_repositories_create_nothing(
    fake_github: ModelRepoGitHub,
    demo: Benchmark,
    model_repo: Repository,
    enqueued: list[int],
    post_delivery: Any,
) -> None:
    number = open_pull(fake_github, user="maintainer", sha=SHA1, files={"src/train.py": "modified"})
    post_delivery("pull_request", pull_request_payload(fake_github, number=number))
    # Deleting a submission folder is not a submission either.
    number = open_pull(
        fake_github, user="maintainer", sha=SHA2,
        files={"submissions/demo/old/config.json": "removed"},
    )  # fmt: skip
    post_delivery("pull_request", pull_request_payload(fake_github, number=number))
    model_repo.role = Repository.Role.OTHER
    model_repo.save()
    number = open_pull(fake_github, user="maintainer", sha=SHA3)
    post_delivery("pull_request", pull_request_payload(fake_github, number=number))
    assert not Submission.objects.exists() and enqueued == []


def test_two_submission_folders_in_one_pr_fail_with_the_reason(
    fake_github: ModelRepoGitHub, demo: Benchmark, enqueued: list[int], post_delivery: Any
) -> None:
    files = {"submissions/demo/a/config.json": "added", "submissions/demo/b/config.json": "added"}
    number = open_pull(fake_github, user="maintainer", sha=SHA1, files=files)
    post_delivery("pull_request", pull_request_payload(fake_github, number=number))
    failed = only(Submission.objects.all())
    assert failed.status == Status.FAILED and enqueued == []
    assert "submissions/demo/a, submissions/demo/b" in failed.reason
    [status] = fake_github.statuses(SHA1)
    assert status["state"] == "failure" and "2 submission folders" in status["description"]
    [comment] = fake_github.platform_comments()
    assert "one pull request holds one submission" in comment


def test_a_newer_sha_supersedes_a_waiting_one_and_cancels_a_running_one(
    fake_github: ModelRepoGitHub, demo: Benchmark, enqueued: list[int], post_delivery: Any
) -> None:
    number = open_pull(fake_github, user="newcomer", sha=SHA1)
    post_delivery("pull_request", pull_request_payload(fake_github, number=number))
    post_delivery(
        "pull_request",
        pull_request_payload(fake_github, number=number, action="synchronize", sha=SHA2),
    )
    first = Submission.objects.get(head_sha=SHA1)
    assert first.status == Status.SUPERSEDED and first.reason == f"superseded by {SHA2[:7]}"
    assert fake_github.statuses(SHA1)[-1]["state"] == "error"
    second = Submission.objects.get(head_sha=SHA2)
    assert second.status == Status.PENDING_APPROVAL

    # Pretend a worker runs SHA2 (a maintainer approved it); SHA3 arrives: SHA2 is cancelled,
    # which the worker's next heartbeat sees, killing the engine.
    Submission.objects.filter(pk=second.pk).update(status=Status.RUNNING)
    EvaluationRunFactory(submission=second, seed=0, status="running")
    post_delivery(
        "pull_request",
        pull_request_payload(fake_github, number=number, action="synchronize", sha=SHA3),
    )
    second.refresh_from_db()
    assert second.status == Status.CANCELLED and second.reason == f"superseded by {SHA3[:7]}"
    assert Submission.objects.get(head_sha=SHA3).status == Status.PENDING_APPROVAL
    # Closing the PR cancels what still waits.
    post_delivery("pull_request", pull_request_payload(fake_github, number=number, action="closed"))
    assert Submission.objects.get(head_sha=SHA3).reason == "the pull request was closed"


def test_bot_evaluate_and_cancel(
    fake_github: ModelRepoGitHub, demo: Benchmark, enqueued: list[int], post_delivery: Any
) -> None:
    number = open_pull(fake_github, user="newcomer", sha=SHA1)
    post_delivery("pull_request", pull_request_payload(fake_github, number=number))
    submission = Submission.objects.get(head_sha=SHA1)

    def say(body: str, login: str, comment_id: int) -> str:
        post_delivery(
            "issue_comment",
            comment_payload(
                fake_github, number=number, body=body, login=login, comment_id=comment_id
            ),
        )
        return BotCommand.objects.get(comment_id=comment_id).result

    # Only maintainers approve.
    assert "only maintainers" in say("@crucible evaluate", "reader", 1)
    assert Submission.objects.get(pk=submission.pk).status == Status.PENDING_APPROVAL
    assert "Approved `demo`" in say("Looks fine.\n@crucible evaluate", "maintainer", 2)
    submission.refresh_from_db()
    assert submission.status == Status.QUEUED and submission.approved_by_login == "maintainer"
    assert enqueued == [submission.pk]
    assert fake_github.statuses(SHA1)[-1]["description"].startswith("queued")

    # Only the author or a maintainer cancels; the author may.
    assert "only the pull request's author" in say("@crucible cancel", "reader", 3)
    assert "Cancelled `demo`" in say("@crucible cancel", "newcomer", 4)
    submission.refresh_from_db()
    assert submission.status == Status.CANCELLED and submission.reason == "cancelled by @newcomer"
    assert "Nothing to cancel" in say("@crucible cancel", "maintainer", 5)
    # A maintainer may run a cancelled one again.
    assert "Queued `demo`" in say("@crucible evaluate", "maintainer", 6)
    assert Submission.objects.get(pk=submission.pk).status == Status.QUEUED
    # Every command got its one reply on GitHub.
    assert len(fake_github.replies()) == 6


def test_a_pr_that_cannot_be_fetched_fails_with_the_reason_on_github(
    fake_github: ModelRepoGitHub,
    demo: Benchmark,
    enqueued: list[int],
    post_delivery: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    number = open_pull(fake_github, user="maintainer", sha=SHA1)
    post_delivery("pull_request", pull_request_payload(fake_github, number=number))
    submission = Submission.objects.get(head_sha=SHA1)
    # No tarball on the fake for SHA1: GitHub answers 404.
    with django_capture_on_commit_callbacks(execute=True):
        assert evaluate_now(submission.pk) == Status.FAILED
    submission.refresh_from_db()
    assert "could not fetch the submission: GitHub refused the archive" in submission.reason
    assert submission.counts_for_quota  # a 404 is the contributor's, not the platform's
    status = fake_github.statuses(SHA1)[-1]
    assert status["state"] == "failure" and "GitHub refused the archive" in status["description"]
    [comment] = fake_github.platform_comments()
    assert "GitHub refused the archive" in comment


def test_a_hostile_tarball_fails_the_submission_and_writes_nothing_outside(
    fake_github: ModelRepoGitHub,
    demo: Benchmark,
    enqueued: list[int],
    post_delivery: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from tests.evaluation.test_archive import hostile_tarball

    number = open_pull(fake_github, user="maintainer", sha=SHA1)
    post_delivery("pull_request", pull_request_payload(fake_github, number=number))
    fake_github.repos[FULL_NAME].archives[SHA1] = hostile_tarball("dotdot")
    with django_capture_on_commit_callbacks(execute=True):
        assert evaluate_now(Submission.objects.get().pk) == Status.FAILED
    reason = Submission.objects.get().reason
    assert "was refused" in reason and "'..' in a path is not allowed" in reason
    assert EvaluationRun.objects.get().status == "failed"


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="code submissions need bubblewrap")
def test_a_scored_pr_gets_success_with_score_delta_rank_and_the_comment(
    fake_github: ModelRepoGitHub,
    demo: Benchmark,
    enqueued: list[int],
    post_delivery: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """One real engine run (seconds): the reference model as submission code, sandboxed."""
    baseline = SubmissionFactory(
        benchmark=demo, source="config", status=Status.SCORED, mean_val_bpb=9.0, result_attempt=1
    )
    for seed, value in enumerate((9.0, 9.01, 8.99)):
        EvaluationRunFactory(submission=baseline, seed=seed, status="ok", val_bits_per_byte=value)
    demo.baseline = baseline
    demo.max_seeds = 1  # one seed is all this benchmark runs: too few to test for a record
    demo.save()
    number = open_pull(fake_github, user="maintainer", sha=SHA1)
    fake_github.set_archive(FULL_NAME, SHA1, submission_files())
    post_delivery("pull_request", pull_request_payload(fake_github, number=number))
    submission = Submission.objects.get(head_sha=SHA1)

    with django_capture_on_commit_callbacks(execute=True):
        assert evaluate_now(submission.pk) == Status.SCORED
    submission.refresh_from_db()
    run = submission.runs.get()
    assert run.metrics["sandbox"] == "bubblewrap"  # untrusted code: never unsandboxed
    assert not submission.is_record  # better, but one seed cannot show it
    assert "not significant after 1 seed against 3 (too few seeds to test" in submission.record_note
    assert fake_github.gets(f"/tarball/{SHA1}")
    delta = f"{submission.mean_val_bpb - 9.0:+.3f}".replace("-", "\u2212")
    status = fake_github.statuses(SHA1)[-1]
    assert status["state"] == "success"
    assert status["description"] == (
        f"val {submission.mean_val_bpb:.3f} bpb, {delta} vs baseline, rank #1"
    )
    [comment] = fake_github.platform_comments()
    assert f"| 0 | Scored | {run.val_bits_per_byte:.4f} | " in comment
    assert f"{run.loss_curve[-1]['loss']:.4f}" in comment
    assert f"https://crucible.test/submissions/{submission.pk}/" in comment
    assert "Against the record: better on average" in comment

    # A rerun edits the same comment in place, never a second one.
    submission.finished_at = timezone.now() - timedelta(seconds=1)
    from evaluation.services import submission_publish

    with django_capture_on_commit_callbacks(execute=True):
        submission_publish(submission=submission)
    assert len(fake_github.platform_comments()) == 1


def test_a_failing_evaluation_handler_leaves_the_ledger_and_names_itself(
    model_repo: Repository, monkeypatch: pytest.MonkeyPatch, post_delivery: Any
) -> None:
    """Each handler of a delivery runs in its own savepoint. The failure is injected (a
    benchmark lookup that writes a row, then raises): evaluation's handler fails and what it
    wrote is undone, contrib's rows stay."""
    import copy

    from contrib.models import Contribution, Contributor, WebhookDelivery
    from tests.conftest import load_payload

    def unreadable(**_kwargs: Any) -> list[Benchmark]:
        Contributor.objects.create(login="half-written")
        raise RuntimeError("benchmarks are unreadable")

    monkeypatch.setattr("evaluation.github.benchmarks_for_repository", unreadable)
    merged = copy.deepcopy(load_payload("pull_request.closed"))
    merged["pull_request"].update(merged=True, merged_at="2019-05-15T15:21:18Z")
    post_delivery("pull_request", merged, delivery_id="half-failed")

    delivery = WebhookDelivery.objects.get(delivery_id="half-failed")
    assert delivery.outcome == WebhookDelivery.Outcome.FAILED
    assert delivery.error == (
        "evaluation.github.handle_pull_request_submission: RuntimeError: benchmarks are unreadable"
    )
    assert list(Contribution.objects.values_list("contributor__login", "kind")) == [
        ("Codertocat", "code")
    ]
    assert PullRequest.objects.get(number=2).merged
    assert not Contributor.objects.filter(login="half-written").exists()


def test_the_folder_submit_describes_is_the_folder_intake_takes(
    fake_github: ModelRepoGitHub, demo: Benchmark, enqueued: list[int], post_delivery: Any
) -> None:
    """/submit/'s pull-request steps followed literally, against the local GitHub-compatible
    server: a PR adding model.py (no config.json: the defaults) to the folder they name, with
    the contributor's name where they say, becomes a submission of that folder."""
    reader = Client()
    reader.force_login(User.objects.create_user("maintainer"))
    page = reader.get("/submit/?benchmark=demo").content.decode()
    assert f'href="{demo.model_repository.html_url}"' in page  # type: ignore[union-attr]
    folder = html.unescape(re.search(r"<code data-folder>([^<]+)</code>", page)[1])  # type: ignore[index]
    mine = folder.replace("<your-name>", "maintainer")
    number = open_pull(fake_github, user="maintainer", sha=SHA1, files={f"{mine}model.py": "added"})
    answer = post_delivery("pull_request", pull_request_payload(fake_github, number=number))
    assert answer.status_code == 202
    submission = only(Submission.objects.all())
    assert submission.folder == mine.rstrip("/") == "submissions/demo/maintainer"
    assert submission.status == Status.QUEUED and enqueued == [submission.pk]
