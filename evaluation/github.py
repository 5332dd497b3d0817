"""How GitHub reaches the evaluation pipeline: the event handler for pull requests, and the
`@crucible evaluate` / `@crucible cancel` bot commands. What a pull request becomes is
`evaluation.services.intake`'s business.

Both are registered into contrib's registries from `EvaluationConfig.ready`, so contrib never
imports evaluation. The webhook handler only looks at the payload and queues
`evaluation.intake_pull_request`; that task asks GitHub which files the PR changes and who its
author is (a transient GitHub failure is retried by the task, not lost with the delivery).
"""

from django.db import transaction
from django.db.models import Q

from contrib.github.bot import CommandRejected
from contrib.github.maintainers import maintainer_check
from contrib.github.registry import Payload
from contrib.models import BotCommand, Repository
from evaluation.models import Submission
from evaluation.policies import github_is_author, state_allows, submission_may
from evaluation.services import submission_approve, submission_cancel, submission_rerun
from evaluation.services.intake import benchmarks_for_repository
from evaluation.services.submissions import is_standing_top_up
from evaluation.tasks import intake_pull_request

Status = Submission.Status
INTAKE_ACTIONS = ("opened", "synchronize", "reopened")


def _model_repository(payload: Payload) -> Repository | None:
    repo = payload.get("repository") or {}
    repository = (
        Repository.objects.filter(
            Q(github_id=repo.get("id")) if repo.get("id") else Q(pk__in=[]),
        ).first()
        or Repository.objects.filter(full_name__iexact=str(repo.get("full_name"))).first()
    )
    if repository is None or not repository.tracked or repository.role != Repository.Role.MODEL:
        return None
    return repository


def comment_on_model_repository(payload: Payload) -> bool:
    """`@crucible evaluate` / `cancel` mean something only on a tracked model repository."""
    return _model_repository(payload) is not None


def handle_pull_request_submission(payload: Payload) -> None:
    """`pull_request` opened/synchronize/reopened on a tracked model repository: queue the
    intake of its head SHA; closed without merging: cancel what still waits or runs for it."""
    action = payload.get("action")
    if action not in (*INTAKE_ACTIONS, "closed"):
        return
    repository = _model_repository(payload)
    if repository is None or not benchmarks_for_repository(repository=repository):
        return
    pr = payload.get("pull_request") or {}
    number = int(pr["number"])
    if action == "closed":
        if pr.get("merged"):
            return  # merged: its evaluation still counts, let it finish
        for submission in Submission.objects.filter(
            repository=repository, pr_number=number, status__in=Submission.ACTIVE
        ):
            if not is_standing_top_up(submission):  # a record test's extra seeds finish
                submission_cancel(submission=submission, reason="the pull request was closed")
        return
    user = pr.get("user") or {}
    pull_request = {
        "number": number,
        "head_sha": str((pr.get("head") or {}).get("sha") or ""),
        "title": str(pr.get("title") or "")[:300],
        "user": {key: user.get(key) for key in ("id", "login", "type", "avatar_url")},
    }
    if not pull_request["head_sha"]:
        return
    repository_id = repository.pk

    def enqueue() -> None:
        intake_pull_request.delay(repository_id, pull_request)

    transaction.on_commit(enqueue)


# --- bot commands -------------------------------------------------------------------------------


def _latest_per_benchmark(command: BotCommand) -> list[Submission]:
    latest: dict[int, Submission] = {}
    for submission in (
        Submission.objects.filter(repository=command.repository, pr_number=command.number)
        .exclude(status=Status.SUPERSEDED)
        .select_related("benchmark", "contributor")
        .order_by("created_at", "pk")
    ):
        latest[submission.benchmark_id] = submission
    return list(latest.values())


def _no_submission(command: BotCommand) -> CommandRejected:
    return CommandRejected(
        f"There is no submission on #{command.number}: it changes no file in a benchmark's "
        "submission folder (`submissions/<benchmark>/<name>/`)."
    )


def command_evaluate(command: BotCommand) -> str:
    """`@crucible evaluate`: a maintainer approves the PR's waiting submission, or runs a
    finished one again."""
    is_maintainer = maintainer_check(repository=command.repository, login=command.author_login)
    if not submission_may(action="approve", is_author=False, is_maintainer=is_maintainer):
        raise CommandRejected(
            f"@{command.author_login}, only maintainers (write access to "
            f"{command.repository.full_name}) can start an evaluation."
        )
    submissions = _latest_per_benchmark(command)
    if not submissions:
        raise _no_submission(command)
    said = []
    for submission in submissions:
        name = f"`{submission.benchmark.slug}` ({submission.head_sha[:7]})"
        if state_allows(action="approve", submission=submission):
            submission_approve(submission=submission, user=None, github_login=command.author_login)
            said.append(f"Approved {name}: it is queued.")
        elif state_allows(action="rerun", submission=submission):
            submission_rerun(submission=submission)
            said.append(f"Queued {name} again.")
        else:
            said.append(f"{name} is already {submission.get_status_display().lower()}.")
    return " ".join(said)


def command_cancel(command: BotCommand) -> str:
    """`@crucible cancel`: the PR's author or a maintainer stops its waiting or running
    submission."""
    active = [s for s in _latest_per_benchmark(command) if s.status in Submission.ACTIVE]
    if not active:
        if not _latest_per_benchmark(command):
            raise _no_submission(command)
        raise CommandRejected(
            f"Nothing to cancel on #{command.number}: no evaluation waits or runs."
        )
    is_author = github_is_author(
        submission=active[0], login=command.author_login, github_id=command.author_github_id
    )
    if not submission_may(
        action="cancel",
        is_author=is_author,
        is_maintainer=is_author
        or maintainer_check(repository=command.repository, login=command.author_login),
    ):
        raise CommandRejected(
            f"@{command.author_login}, only the pull request's author or a maintainer can "
            "cancel its evaluation."
        )
    for submission in active:
        submission_cancel(submission=submission, reason=f"cancelled by @{command.author_login}")
    names = ", ".join(f"`{s.benchmark.slug}` ({s.head_sha[:7]})" for s in active)
    return f"Cancelled {names}."
