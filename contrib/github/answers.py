"""What the platform writes back to GitHub: commit statuses, one comment per pull request, check
runs, bot replies, and the repository's webhook.

Each answer is first stored as a `GitHubAnswer` row (one per target, keyed), then sent by a task
after commit. Sending again edits the same GitHub object: the PR comment and bot replies carry a
hidden marker and are found again by it, so a retry after a lost response edits instead of
posting a second copy (PyGithub's own retry is off for those writes for the same reason; the task
retries instead). Transient failures (5xx, rate limits, network) re-raise for the task to retry;
a permanent one (404, 422, bad credentials) marks the row failed with the error, and the admin
lists failed answers.
"""

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from github import Github, GithubException
from github.Repository import Repository as GithubRepository

from contrib.github.client import (
    GitHubNotConfigured,
    authenticated_as_app,
    github_call,
    github_client,
    is_transient,
)
from contrib.models import GitHubAnswer, Repository
from contrib.tasks import send_github_answer

logger = logging.getLogger(__name__)

Kind = GitHubAnswer.Kind
State = GitHubAnswer.State

STATUS_STATES = ("pending", "success", "failure", "error")
STATUS_CONTEXT = "crucible"
PULL_REQUEST_MARKER = "<!-- crucible:pull-request-comment -->"
# GitHub caps a status description at 140 characters and a comment at 65,536.
STATUS_DESCRIPTION_MAX = 140
COMMENT_MAX = 65_000


def reply_marker(comment_id: int) -> str:
    return f"<!-- crucible:reply-to:{comment_id} -->"


def _enqueue(answer: GitHubAnswer) -> None:
    answer_id = answer.pk
    transaction.on_commit(lambda: send_github_answer.delay(answer_id))


def _answer_set(
    *, repository: Repository, kind: str, key: str, target: str, payload: dict[str, Any]
) -> GitHubAnswer:
    with transaction.atomic():
        answer, created = GitHubAnswer.objects.select_for_update().get_or_create(
            key=key,
            defaults={"repository": repository, "kind": kind, "target": target, "payload": payload},
        )
        if not created:
            answer.payload = payload
            answer.state = State.PENDING
            answer.error = ""
            answer.revision += 1
            answer.save(update_fields=["payload", "state", "error", "revision", "updated_at"])
        _enqueue(answer)
    return answer


def bot_reply_sent(*, repository: Repository, comment_id: int) -> bool:
    return GitHubAnswer.objects.filter(
        key=f"reply:{repository.pk}:{comment_id}", state=State.SENT
    ).exists()


def commit_status_set(
    *,
    repository: Repository,
    sha: str,
    state: str,
    description: str,
    target_url: str = "",
    context: str = STATUS_CONTEXT,
) -> GitHubAnswer:
    """Set the platform's status on a commit (`pending`, `success`, `failure`, `error`), with a
    link to the platform page; setting it again replaces it on GitHub."""
    if state not in STATUS_STATES:
        raise ValueError(f"status state must be one of {', '.join(STATUS_STATES)}, not {state!r}")
    return _answer_set(
        repository=repository,
        kind=Kind.STATUS,
        key=f"status:{repository.pk}:{sha}:{context}",
        target=sha,
        payload={
            "state": state,
            "description": description[:STATUS_DESCRIPTION_MAX],
            "target_url": target_url or settings.PLATFORM_URL,
            "context": context,
        },
    )


def pull_request_comment_set(*, repository: Repository, number: int, body: str) -> GitHubAnswer:
    """Post the platform's one comment on a pull request, or edit it in place if it exists."""
    return _answer_set(
        repository=repository,
        kind=Kind.COMMENT,
        key=f"comment:{repository.pk}:{number}",
        target=str(number),
        payload={"number": number, "body": f"{PULL_REQUEST_MARKER}\n{body}"[:COMMENT_MAX]},
    )


def bot_reply_set(
    *, repository: Repository, number: int, comment_id: int, body: str
) -> GitHubAnswer:
    """The bot's one reply to the comment `comment_id` on issue or PR `number`."""
    return _answer_set(
        repository=repository,
        kind=Kind.REPLY,
        key=f"reply:{repository.pk}:{comment_id}",
        target=str(number),
        payload={"number": number, "body": f"{reply_marker(comment_id)}\n{body}"[:COMMENT_MAX]},
    )


def check_run_set(
    *,
    repository: Repository,
    sha: str,
    name: str,
    status: str,
    conclusion: str | None = None,
    title: str = "",
    summary: str = "",
    details_url: str = "",
) -> GitHubAnswer | None:
    """Create or update the platform's check run `name` on a commit. Only a GitHub App may write
    check runs: without App auth for the repository this does nothing and returns None."""
    if not authenticated_as_app(repository=repository):
        return None
    payload: dict[str, Any] = {
        "name": name,
        "head_sha": sha,
        "status": status,
        "details_url": details_url or settings.PLATFORM_URL,
        "external_id": f"crucible:{repository.pk}:{sha}:{name}"[:255],
        "output": {"title": title or name, "summary": summary or title or name},
    }
    if conclusion:
        payload["conclusion"] = conclusion
    return _answer_set(
        repository=repository,
        kind=Kind.CHECK_RUN,
        key=f"check:{repository.pk}:{sha}:{name}"[:255],
        target=sha,
        payload=payload,
    )


# --- sending ------------------------------------------------------------------------------------


def _repo(gh: Github, repository: Repository) -> GithubRepository:
    return gh.get_repo(repository.full_name)  # lazy: no request


def _send_status(gh: Github, answer: GitHubAnswer) -> None:
    payload = answer.payload
    status = (
        _repo(gh, answer.repository)
        .get_commit(answer.target)
        .create_status(
            state=payload["state"],
            target_url=payload["target_url"],
            description=payload["description"],
            context=payload["context"],
        )
    )
    answer.github_id = status.id


def _send_comment(gh: Github, answer: GitHubAnswer, marker: str) -> None:
    """Edit the comment we know, else the one carrying our marker, else post one."""
    issue = _repo(gh, answer.repository).get_issue(int(answer.payload["number"]))
    body = str(answer.payload["body"])
    if answer.github_id:
        try:
            comment = issue.get_comment(answer.github_id)  # lazy
            comment.edit(body)
            return
        except GithubException as exc:
            if exc.status != 404:
                raise
            answer.github_id = None  # deleted on GitHub: find or post again
    for comment in issue.get_comments():
        if marker in (comment.body or ""):
            comment.edit(body)
            answer.github_id, answer.html_url = comment.id, comment.html_url
            return
    created = issue.create_comment(body)
    answer.github_id, answer.html_url = created.id, created.html_url


def _send_check_run(gh: Github, answer: GitHubAnswer) -> None:
    payload = dict(answer.payload)
    repo = _repo(gh, answer.repository)
    fields = {
        key: payload[key]
        for key in ("status", "conclusion", "details_url", "external_id", "output")
        if key in payload
    }
    if not answer.github_id:
        # A create whose answer was lost left a run on GitHub: find it by our external id.
        for run in repo.get_commit(answer.target).get_check_runs(check_name=payload["name"]):
            if run.external_id == payload["external_id"]:
                answer.github_id = run.id
                break
    if answer.github_id:
        repo.get_check_run(answer.github_id).edit(name=payload["name"], **fields)
        return
    run = repo.create_check_run(name=payload["name"], head_sha=payload["head_sha"], **fields)
    answer.github_id, answer.html_url = run.id, run.html_url or ""


class AnswerFailed(Exception):  # noqa: N818 - the outcome the task retries on
    """A transient failure: the task should try again later."""


def github_answers_resend(*, answer_ids: list[int]) -> int:
    """Send answers again (the admin's action, after a token or permission is fixed): back to
    pending, error cleared, queued once the transaction commits. Returns how many."""
    with transaction.atomic():
        answers = list(GitHubAnswer.objects.select_for_update().filter(pk__in=answer_ids))
        for answer in answers:
            answer.state = GitHubAnswer.State.PENDING
            answer.error = ""
            answer.save(update_fields=["state", "error"])
            _enqueue(answer)
    return len(answers)


def github_answers_resend_stale(*, older_than: timedelta | None = None) -> int:
    """Queue again answers still pending `GITHUB_REQUEUE_AFTER` after their last change or
    attempt: their message was lost (a worker killed while holding it, a broker restart).
    Sending claims the answer first (`github_answer_send`), so even an answer that is still
    being sent is never posted twice. Returns how many were queued."""
    if older_than is None:
        older_than = timedelta(seconds=settings.GITHUB_REQUEUE_AFTER)
    ids = list(
        GitHubAnswer.objects.filter(state=State.PENDING, updated_at__lt=timezone.now() - older_than)
        .order_by("updated_at")
        .values_list("pk", flat=True)[:1000]
    )
    for answer_id in ids:
        send_github_answer.delay(answer_id)
    return len(ids)


def github_answer_send(*, answer_id: int, final_attempt: bool = False) -> str:
    """Send one stored answer to GitHub; returns its state.

    A send first claims the answer (`sending_since`, one UPDATE; no lock is held while GitHub
    is called): a second send meanwhile (a message delivered twice, the periodic resend) finds
    it claimed and leaves it, so GitHub never gets two new comments for one answer. A claim
    older than `GITHUB_REQUEUE_AFTER` belonged to a worker that died and is taken over. Only a
    pending answer is sent (the admin's *Send again* makes a failed one pending first).

    A transient error raises `AnswerFailed` (the task retries) unless this is the final attempt;
    a permanent error, or a transient one on the final attempt, marks the answer failed.
    """
    now = timezone.now()
    expired = now - timedelta(seconds=settings.GITHUB_REQUEUE_AFTER)
    claimed = (
        GitHubAnswer.objects.filter(pk=answer_id, state=State.PENDING)
        .filter(Q(sending_since__isnull=True) | Q(sending_since__lt=expired))
        .update(sending_since=now)
    )
    if not claimed:  # sent, failed, gone, or being sent right now
        return str(
            GitHubAnswer.objects.filter(pk=answer_id).values_list("state", flat=True).first()
            or State.PENDING
        )
    answer = GitHubAnswer.objects.select_related("repository").get(pk=answer_id)
    try:
        state, error = _send_locked(answer, final_attempt=final_attempt)
    finally:
        GitHubAnswer.objects.filter(pk=answer_id, sending_since=now).update(sending_since=None)
    if error:
        raise AnswerFailed(error)
    if GitHubAnswer.objects.filter(
        pk=answer_id, state=State.PENDING, revision__gt=answer.revision
    ).exists():
        # A newer payload came while this one was sent: its own task found the claim taken.
        transaction.on_commit(lambda: send_github_answer.delay(answer_id))
    return state


def _send_locked(answer: GitHubAnswer, *, final_attempt: bool) -> tuple[str, str]:
    """Send a claimed answer: (state, error to retry on). Every attempt moves `updated_at`, so
    that the periodic resend leaves an answer alone while its retries are under way."""
    answer.attempts += 1
    try:
        # Writes are not retried inside PyGithub: a retried POST could post twice.
        gh = github_client(repository=answer.repository, retry_writes=False)
        with github_call():
            if answer.kind == Kind.STATUS:
                _send_status(gh, answer)
            elif answer.kind == Kind.COMMENT:
                _send_comment(gh, answer, PULL_REQUEST_MARKER)
            elif answer.kind == Kind.REPLY:
                _send_comment(gh, answer, reply_marker(int(answer.key.rsplit(":", 1)[1])))
            elif answer.kind == Kind.CHECK_RUN:
                _send_check_run(gh, answer)
            else:
                raise ValueError(f"unknown answer kind {answer.kind!r}")
    except Exception as exc:  # noqa: BLE001 - any failure is recorded on the answer
        transient = is_transient(exc) and not isinstance(exc, GitHubNotConfigured)
        error = f"{type(exc).__name__}: {exc}"[:5000]
        GitHubAnswer.objects.filter(pk=answer.pk).update(
            attempts=answer.attempts,
            error=error,
            github_id=answer.github_id,
            updated_at=timezone.now(),
        )
        if transient and not final_attempt:
            return State.PENDING, error
        logger.error("GitHub answer %s (%s) failed for good: %s", answer.pk, answer.key, exc)
        GitHubAnswer.objects.filter(pk=answer.pk, revision=answer.revision).update(
            state=State.FAILED, updated_at=timezone.now()
        )
        return State.FAILED, ""
    # Only this revision is done: a newer payload saved meanwhile stays pending for its task.
    GitHubAnswer.objects.filter(pk=answer.pk).update(
        attempts=answer.attempts, github_id=answer.github_id, html_url=answer.html_url
    )
    completed = GitHubAnswer.objects.filter(pk=answer.pk, revision=answer.revision).update(
        state=State.SENT, error="", sent_at=timezone.now(), updated_at=timezone.now()
    )
    return (State.SENT if completed else State.PENDING), ""


# --- the webhook ----------------------------------------------------------------------------------

WEBHOOK_PATH = "/webhooks/github/"


def webhook_url() -> str:
    return f"{settings.PLATFORM_URL}{WEBHOOK_PATH}"


def webhook_setup_instructions(*, repository: Repository) -> str:
    """Exactly what to enter on GitHub when the platform cannot create the webhook itself."""
    return (
        f"On GitHub, {repository.html_url}/settings/hooks/new: Payload URL {webhook_url()}; "
        "Content type application/json; Secret: the value of GITHUB_WEBHOOK_SECRET on the "
        "server; SSL verification enabled; Which events: Send me everything; Active."
    )


def repository_webhook_create(*, repository: Repository) -> tuple[bool, str]:
    """Create the repository's webhook through the API (URL and secret from settings), unless
    one with our URL exists. Returns (done, message); when it cannot, the message says exactly
    what to paste into GitHub's settings instead."""
    if not settings.GITHUB_WEBHOOK_SECRET:
        return False, "GITHUB_WEBHOOK_SECRET is not set. " + webhook_setup_instructions(
            repository=repository
        )
    try:
        gh = github_client(repository=repository)
        with github_call():
            repo = _repo(gh, repository)
            for hook in repo.get_hooks():
                if (hook.config or {}).get("url") == webhook_url():
                    return True, f"{repository}: the webhook to {webhook_url()} already exists."
            repo.create_hook(
                "web",
                config={
                    "url": webhook_url(),
                    "content_type": "json",
                    "secret": settings.GITHUB_WEBHOOK_SECRET,
                    "insecure_ssl": "0",
                },
                events=["*"],
                active=True,
            )
    except (GithubException, GitHubNotConfigured) as exc:
        return False, (
            f"{repository}: GitHub refused to create the webhook ({exc}). "
            + webhook_setup_instructions(repository=repository)
        )
    return True, f"{repository}: webhook created, deliveries go to {webhook_url()}."
