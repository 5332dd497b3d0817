"""How GitHub reaches the evaluation pipeline: pull requests become submissions, and the
`@crucible evaluate` / `@crucible cancel` bot commands act on them.

Both are registered into contrib's registries from `EvaluationConfig.ready`, so contrib never
imports evaluation. The webhook handler only looks at the payload and queues
`evaluation.intake_pull_request`; that task asks GitHub which files the PR changes and who its
author is (a transient GitHub failure is retried by the task, not lost with the delivery).
"""

import posixpath
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from contrib.github.bot import CommandRejected, maintainer_check
from contrib.github.client import github_client, iter_pages
from contrib.github.registry import Payload
from contrib.models import BotCommand, Contributor, PullRequest, Repository
from contrib.services import contributor_get_or_create_from_github
from evaluation.models import Benchmark, Submission
from evaluation.services import (
    _enqueue,
    submission_approve,
    submission_cancel,
    submission_publish,
    submission_rerun,
    submission_transition,
)

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


def _benchmarks_for(repository: Repository) -> list[Benchmark]:
    """Active benchmarks whose submissions live in this repository (or in any model repository
    when the benchmark names none)."""
    return list(
        Benchmark.objects.filter(active=True)
        .exclude(submission_path="")
        .filter(Q(model_repository=repository) | Q(model_repository__isnull=True))
    )


def handle_pull_request_submission(payload: Payload) -> None:
    """`pull_request` opened/synchronize/reopened on a tracked model repository: queue the
    intake of its head SHA; closed without merging: cancel what still waits or runs for it."""
    action = payload.get("action")
    if action not in (*INTAKE_ACTIONS, "closed"):
        return
    repository = _model_repository(payload)
    if repository is None or not _benchmarks_for(repository):
        return
    pr = payload.get("pull_request") or {}
    number = int(pr["number"])
    if action == "closed":
        if pr.get("merged"):
            return  # merged: its evaluation still counts, let it finish
        for submission in Submission.objects.filter(
            repository=repository, pr_number=number, status__in=Submission.ACTIVE
        ):
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
        from evaluation.tasks import intake_pull_request

        intake_pull_request.delay(repository_id, pull_request)

    transaction.on_commit(enqueue)


def _changed_files(repository: Repository, number: int) -> list[dict[str, Any]]:
    gh = github_client(repository=repository)
    files: list[dict[str, Any]] = []
    for page in iter_pages(gh, f"/repos/{repository.full_name}/pulls/{number}/files"):
        files += page.items
    return files


def submission_folders(*, benchmark: Benchmark, files: list[dict[str, Any]]) -> list[str]:
    """The submission folders a PR changes under the benchmark's path: `submissions/demo/wider`
    for `submissions/demo/wider/model.py`; the path itself for files directly in it. Folders
    whose files were all removed are not submissions."""
    root = posixpath.normpath(benchmark.submission_path.strip("/"))
    folders: dict[str, bool] = {}
    for item in files:
        path = str(item.get("filename") or "")
        if not path.startswith(root + "/"):
            continue
        rest = path[len(root) + 1 :]
        folder = f"{root}/{rest.split('/', 1)[0]}" if "/" in rest else root
        kept = item.get("status") != "removed"
        folders[folder] = folders.get(folder, False) or kept
    return sorted(folder for folder, kept in folders.items() if kept)


def _may_run_at_once(*, repository: Repository, contributor: Contributor, login: str) -> bool:
    """Maintainers (write access on GitHub) and authors of a merged PR in the repository."""
    merged = PullRequest.objects.filter(
        repository=repository, author=contributor, merged_at__isnull=False
    ).exists()
    return merged or maintainer_check(repository=repository, login=login)


def pull_request_intake(*, repository_id: int, pull_request: dict[str, Any]) -> list[Submission]:
    """Create the submissions of one PR head SHA, one per benchmark whose folder it changes;
    supersede the PR's older SHAs. Idempotent: the same SHA again creates nothing."""
    repository = Repository.objects.get(pk=repository_id)
    number = int(pull_request["number"])
    sha = str(pull_request["head_sha"])
    benchmarks = _benchmarks_for(repository)
    if not benchmarks:
        return []
    files = _changed_files(repository, number)
    wanted = [(b, submission_folders(benchmark=b, files=files)) for b in benchmarks]
    wanted = [(b, folders) for b, folders in wanted if folders]
    if not wanted:
        return []
    user = pull_request.get("user") or {}
    login = str(user.get("login") or "")
    contributor = contributor_get_or_create_from_github(user=user)
    at_once = _may_run_at_once(repository=repository, contributor=contributor, login=login)
    created = []
    for benchmark, folders in wanted:
        with transaction.atomic():
            # One intake per benchmark at a time: two deliveries of one PR never both create.
            Benchmark.objects.select_for_update().get(pk=benchmark.pk)
            same = Submission.objects.filter(
                benchmark=benchmark, repository=repository, pr_number=number
            )
            if same.filter(head_sha=sha).exists():
                continue
            for older in same.filter(status__in=Submission.ACTIVE):
                _supersede(older, sha=sha)
            created.append(
                _create(
                    benchmark=benchmark,
                    repository=repository,
                    number=number,
                    sha=sha,
                    folders=folders,
                    contributor=contributor,
                    title=str(pull_request.get("title") or ""),
                    at_once=at_once,
                )
            )
    return created


def _supersede(older: Submission, *, sha: str) -> None:
    reason = f"superseded by {sha[:7]}"
    if older.status == Status.RUNNING:
        # The worker sees the cancel on its next heartbeat and kills the engine.
        submission_cancel(submission=older, reason=reason)
        return
    locked = Submission.objects.select_for_update().get(pk=older.pk)
    if Status.SUPERSEDED in Submission.ALLOWED_TRANSITIONS[locked.status]:
        submission_transition(submission=locked, to=Status.SUPERSEDED, reason=reason)
        locked.runs.filter(status__in=["queued", "running"]).update(status="cancelled")
        submission_publish(submission=locked)


def _over_quota(*, benchmark: Benchmark, contributor: Contributor) -> str:
    from django.core.exceptions import ValidationError

    from evaluation.services import submission_check_quota

    try:
        submission_check_quota(benchmark=benchmark, contributor=contributor)
    except ValidationError as exc:
        return " ".join(exc.messages)
    return ""


def _create(
    *,
    benchmark: Benchmark,
    repository: Repository,
    number: int,
    sha: str,
    folders: list[str],
    contributor: Contributor,
    title: str,
    at_once: bool,
) -> Submission:
    submission = Submission(
        benchmark=benchmark,
        contributor=contributor,
        source=Submission.Source.PULL_REQUEST,
        title=title[:300],
        repository=repository,
        pr_number=number,
        head_sha=sha,
        folder=folders[0],
        official=benchmark.byte_budget is None,
    )
    quota = "" if at_once else _over_quota(benchmark=benchmark, contributor=contributor)
    if len(folders) > 1:
        submission.status = Status.FAILED
        submission.reason = (
            f"this pull request changes {len(folders)} submission folders "
            f"({', '.join(folders)}); one pull request holds one submission"
        )
        submission.counts_for_quota = False
    elif at_once:
        submission.status = Status.QUEUED
        submission.queued_at = timezone.now()
    else:
        submission.status = Status.PENDING_APPROVAL
        submission.reason = (
            f"{quota}; a maintainer can still approve it" if quota else "new contributor"
        )
    submission.save()
    if submission.status == Status.QUEUED:
        _enqueue(submission)
    submission_publish(submission=submission)
    return submission


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
    if not maintainer_check(repository=command.repository, login=command.author_login):
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
        if submission.status == Status.PENDING_APPROVAL:
            submission_approve(submission=submission, user=None, github_login=command.author_login)
            said.append(f"Approved {name}: it is queued.")
        elif submission.status in (Status.FAILED, Status.CANCELLED, Status.SCORED):
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
    author = active[0].contributor
    is_author = author is not None and (
        (command.author_github_id is not None and author.github_id == command.author_github_id)
        or author.login.lower() == command.author_login.lower()
    )
    if not is_author and not maintainer_check(
        repository=command.repository, login=command.author_login
    ):
        raise CommandRejected(
            f"@{command.author_login}, only the pull request's author or a maintainer can "
            "cancel its evaluation."
        )
    for submission in active:
        submission_cancel(submission=submission, reason=f"cancelled by @{command.author_login}")
    names = ", ".join(f"`{s.benchmark.slug}` ({s.head_sha[:7]})" for s in active)
    return f"Cancelled {names}."
