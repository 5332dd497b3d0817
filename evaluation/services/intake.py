"""Pull requests become submissions: one per benchmark whose submission folder a PR head SHA
changes, waiting for a maintainer's approval unless its author may run at once
(`evaluation.policies.github_runs_at_once`); older SHAs of the PR are superseded."""

import posixpath
from typing import Any

from django.db import transaction
from django.db.models import Q

from contrib.contributors import contributor_get_or_create_from_github
from contrib.github.client import github_client, iter_pages
from contrib.models import Contributor, Repository
from evaluation.models import Benchmark, Submission
from evaluation.policies import github_runs_at_once
from evaluation.services.publish import submission_publish
from evaluation.services.submissions import (
    is_standing_top_up,
    quota_problem,
    submission_cancel,
    submission_create,
)
from evaluation.services.transitions import submission_transition

Status = Submission.Status


def benchmarks_for_repository(*, repository: Repository) -> list[Benchmark]:
    """Active benchmarks whose submissions live in this repository (or in any model repository
    when the benchmark names none)."""
    return list(
        Benchmark.objects.filter(active=True)
        .exclude(submission_path="")
        .filter(Q(model_repository=repository) | Q(model_repository__isnull=True))
    )


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


def pull_request_intake(*, repository_id: int, pull_request: dict[str, Any]) -> list[Submission]:
    """Create the submissions of one PR head SHA, one per benchmark whose folder it changes;
    supersede the PR's older SHAs. Idempotent: the same SHA again creates nothing."""
    repository = Repository.objects.get(pk=repository_id)
    number = int(pull_request["number"])
    sha = str(pull_request["head_sha"])
    benchmarks = benchmarks_for_repository(repository=repository)
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
    at_once = github_runs_at_once(repository=repository, contributor=contributor, login=login)
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
    if is_standing_top_up(older):
        return  # extra seeds of a result that stands, for a record test: they finish
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
    status, reason, counts = Status.PENDING_APPROVAL, "new contributor", True
    if len(folders) > 1:
        status, counts = Status.FAILED, False
        reason = (
            f"this pull request changes {len(folders)} submission folders "
            f"({', '.join(folders)}); one pull request holds one submission"
        )
    elif at_once:
        status, reason = Status.QUEUED, ""
    elif quota := quota_problem(benchmark=benchmark, contributor=contributor):
        reason = f"{quota}; a maintainer can still approve it"
    return submission_create(
        benchmark=benchmark,
        contributor=contributor,
        source=Submission.Source.PULL_REQUEST,
        title=title,
        status=status,
        reason=reason,
        counts_for_quota=counts,
        repository=repository,
        pr_number=number,
        head_sha=sha,
        folder=folders[0],
    )
