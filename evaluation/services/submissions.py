"""Creating submissions, the daily quota, and the maintainer's actions on one (cancel,
approve, re-run)."""

import hashlib
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from contrib.contributors import contributor_get_or_create_for_user
from contrib.models import Contributor, Repository
from evaluation.archive import UnsafeArchive
from evaluation.datastore import datastore_put
from evaluation.engine.specs import config_errors
from evaluation.errors import TransitionError
from evaluation.models import Benchmark, EvaluationRun, Submission
from evaluation.policies import user_is_maintainer, user_quota_exempt
from evaluation.selectors import benchmark_spec
from evaluation.services.publish import submission_publish
from evaluation.services.transitions import enqueue, submission_transition
from evaluation.uploads import upload_prepare

Status = Submission.Status
RunStatus = EvaluationRun.Status


def submitter_terms(user: User, *, code: bool) -> dict[str, Any]:
    """Who submits from a signed-in account, as the creating services below take it (the pages
    and the API alike): their contributor, whether the daily quota applies and, for code,
    whether it runs without a maintainer's approval."""
    terms: dict[str, Any] = {
        "contributor": contributor_get_or_create_for_user(user=user),
        "check_quota": not user_quota_exempt(user),
    }
    if code:
        terms["trusted"] = user_is_maintainer(user)
    return terms


def submission_create_config(
    *,
    benchmark: Benchmark,
    contributor: Contributor | None,
    config: Any,
    title: str = "",
    check_quota: bool = True,
) -> Submission:
    """A config against the platform's reference model: validated, then queued at once (no
    contributor code runs, so no approval is needed). Errors name the field."""
    if not benchmark.active:
        raise ValidationError({"benchmark": f"benchmark {benchmark.slug} is not accepting entries"})
    errors = config_errors(benchmark_spec(benchmark), config)
    if errors:
        raise ValidationError(
            {("config" if key == "__all__" else f"config.{key}"): msg for key, msg in errors}
        )
    if check_quota and contributor is not None:
        submission_check_quota(benchmark=benchmark, contributor=contributor)
    return submission_create(
        benchmark=benchmark,
        contributor=contributor,
        source=Submission.Source.CONFIG,
        title=title,
        status=Status.QUEUED,
        config=config,
    )


def submission_create_upload(
    *,
    benchmark: Benchmark,
    contributor: Contributor,
    archive: bytes,
    title: str = "",
    trusted: bool = False,
    check_quota: bool = True,
) -> Submission:
    """A submission folder uploaded as a .zip or .tar.gz (`evaluation.uploads`: the archive
    rules of pull requests, the engine's size caps), its config checked like any config, the
    checked folder kept in the data store. Code from someone who is not a maintainer waits for
    one's approval, as a pull request's does; the daily quota applies. Errors name the field."""
    if not benchmark.active:
        raise ValidationError({"benchmark": f"benchmark {benchmark.slug} is not accepting entries"})
    try:
        packed, config = upload_prepare(archive)
    except UnsafeArchive as exc:
        raise ValidationError({"archive": str(exc)}) from None
    errors = config_errors(benchmark_spec(benchmark), config)
    if errors:
        raise ValidationError(
            {("config" if key == "__all__" else f"config.{key}"): msg for key, msg in errors}
        )
    if check_quota:
        submission_check_quota(benchmark=benchmark, contributor=contributor)
    digest = hashlib.sha256(packed).hexdigest()
    with tempfile.TemporaryDirectory(prefix="crucible-upload-") as tmp:
        staged = Path(tmp) / "submission.tar.gz"
        staged.write_bytes(packed)
        datastore_put(staged, digest)
    submission = submission_create(
        benchmark=benchmark,
        contributor=contributor,
        source=Submission.Source.UPLOAD,
        title=title,
        status=Status.QUEUED if trusted else Status.PENDING_APPROVAL,
        reason="" if trusted else "uploaded code waits for a maintainer's approval",
        config=config,
    )
    Submission.objects.filter(pk=submission.pk).update(archive_sha256=digest)
    submission.archive_sha256 = digest
    return submission


def submission_create(
    *,
    benchmark: Benchmark,
    contributor: Contributor | None,
    source: str,
    title: str,
    status: str,
    reason: str = "",
    counts_for_quota: bool = True,
    config: Any = None,
    repository: Repository | None = None,
    pr_number: int | None = None,
    head_sha: str = "",
    folder: str = "",
) -> Submission:
    """The one way a submission comes to exist, whatever brought it (a config or an upload from
    the pages or the API, a pull request, a benchmark's baseline): created in ``status``, queued
    for its benchmark's workers when that is ``queued``, and announced on GitHub when it has a
    pull request. The admin makes none (it acts on submissions)."""
    with transaction.atomic():
        submission = Submission.objects.create(
            benchmark=benchmark,
            contributor=contributor,
            source=source,
            title=title[:300],
            config=config if config is not None else {},
            status=status,
            reason=reason,
            counts_for_quota=counts_for_quota,
            queued_at=timezone.now() if status == Status.QUEUED else None,
            official=benchmark.byte_budget is None,
            repository=repository,
            pr_number=pr_number,
            head_sha=head_sha,
            folder=folder,
        )
        if status == Status.QUEUED:
            enqueue(submission)
        if repository is not None:
            submission_publish(submission=submission)
    return submission


def quota_problem(*, benchmark: Benchmark, contributor: Contributor) -> str:
    """The quota policy, for every kind of submission: what is wrong ("" when within quota).
    Platform failures, cancellations and superseded SHAs are free."""
    since = timezone.now() - timedelta(days=1)
    used = (
        Submission.objects.filter(
            benchmark=benchmark,
            contributor=contributor,
            created_at__gte=since,
            counts_for_quota=True,
        )
        .exclude(status__in=[Status.CANCELLED, Status.SUPERSEDED])
        .count()
    )
    if used >= benchmark.daily_quota:
        return (
            f"daily quota reached: {used} of {benchmark.daily_quota} submissions to "
            f"{benchmark.slug} in the last 24 hours"
        )
    return ""


def submission_check_quota(*, benchmark: Benchmark, contributor: Contributor) -> None:
    """Refuse a submission over the daily quota (:func:`quota_problem`)."""
    problem = quota_problem(benchmark=benchmark, contributor=contributor)
    if problem:
        raise ValidationError({"benchmark": problem})


def submission_cancel(*, submission: Submission, reason: str = "cancelled") -> Submission:
    """Cancel a waiting or running submission; a running worker sees it and kills its sandbox."""
    with transaction.atomic():
        submission = Submission.objects.select_for_update().get(pk=submission.pk)
        if is_standing_top_up(submission):
            raise TransitionError(
                f"submission #{submission.pk} is adding seeds to the result it shows, to "
                "decide whether a submission is a new record; it is scored again when they are in"
            )
        submission_transition(submission=submission, to=Status.CANCELLED, reason=reason)
        submission.counts_for_quota = False
        submission.save(update_fields=["counts_for_quota"])
        submission.runs.exclude(status__in=EvaluationRun.FINISHED).exclude(
            status=RunStatus.RUNNING
        ).update(status=RunStatus.CANCELLED, finished_at=timezone.now())
        submission_publish(submission=submission)
    return submission


def submission_approve(
    *, submission: Submission, user: User | None, github_login: str = ""
) -> Submission:
    """A maintainer (a platform user, or a GitHub maintainer by `@crucible evaluate`) lets a
    waiting code submission run."""
    with transaction.atomic():
        submission = Submission.objects.select_for_update().get(pk=submission.pk)
        if submission.status != Status.PENDING_APPROVAL:
            raise TransitionError(f"submission #{submission.pk} is not waiting for approval")
        submission.approved_by = user
        submission.approved_by_login = github_login[:100]
        submission_transition(submission=submission, to=Status.QUEUED)
        enqueue(submission)
        submission_publish(submission=submission)
    return submission


def submission_hold(*, submission: Submission) -> Submission:
    """Park a queued submission until a maintainer approves it (a maintainer's decision: to
    look at the code first). Its queue's message then claims nothing; approving queues it
    again. A result it shows stands meanwhile."""
    with transaction.atomic():
        submission = Submission.objects.select_for_update().get(pk=submission.pk)
        if submission.status != Status.QUEUED:
            raise TransitionError(
                f"submission #{submission.pk} is {submission.status}: only a queued one can be "
                "held for approval"
            )
        if is_standing_top_up(submission):
            raise TransitionError(
                f"submission #{submission.pk} is adding seeds to the result it shows, to decide "
                "whether a submission is a new record; it cannot be held"
            )
        submission.approved_by = None
        submission.approved_by_login = ""
        submission_transition(
            submission=submission,
            to=Status.PENDING_APPROVAL,
            reason="held for a maintainer's approval",
        )
        submission_publish(submission=submission)
    return submission


def is_standing_top_up(submission: Submission) -> bool:
    """Whether a queued or running submission is adding seeds to the result it shows (a
    record test's extra seeds): not the owner's to cancel, nor a maintainer's to hold."""
    return submission.status in Submission.ACTIVE and submission.result_attempt == (
        submission.attempt
    )


def submission_prioritise(*, submission: Submission) -> Submission:
    """Put a waiting submission first in its queue (a maintainer's decision): workers take it
    before anyone's turn in the round-robin (`evaluation/queues.py`)."""
    if submission.status not in (Status.QUEUED, Status.PENDING_APPROVAL):
        raise TransitionError(f"submission #{submission.pk} is {submission.status}, not waiting")
    Submission.objects.filter(pk=submission.pk).update(priority=True)
    submission.priority = True
    return submission


def submission_rerun(
    *, submission: Submission, seeds: int | None = None, only_on: str = ""
) -> Submission:
    """Run a finished submission again from scratch (a maintainer's decision; the platform's,
    for a baseline on a device class, `only_on`, with `seeds` when a record test needs more)."""
    with transaction.atomic():
        submission = Submission.objects.select_for_update().get(pk=submission.pk)
        submission_transition(submission=submission, to=Status.QUEUED)
        # A new attempt: the earlier ones' runs are kept, and the result shown (its scores,
        # rank and record) stays until this attempt completes one to replace it.
        submission.runs.exclude(status__in=EvaluationRun.FINISHED).update(
            status=RunStatus.CANCELLED,
            error=f"ended by attempt {submission.attempt + 1}",
            finished_at=timezone.now(),
        )
        submission.attempt += 1
        submission.seeds_wanted = seeds
        submission.only_on = only_on
        submission.record_pending = False
        submission.slow_requeues = 0
        submission.claims = 0
        submission.save()
        enqueue(submission)
        submission_publish(submission=submission)
    return submission
