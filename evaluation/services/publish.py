"""Results out: the commit status and the one pull-request comment for a submission."""

from typing import Any

from django.conf import settings

from contrib.github.answers import commit_status_set, pull_request_comment_set
from evaluation.contributing import contribution_guide, guide_markdown
from evaluation.models import LeaderboardEntry, Submission

Status = Submission.Status


def submission_url(submission: Submission) -> str:
    return f"{settings.PLATFORM_URL}/submissions/{submission.pk}/"


def _signed(value: float, digits: int = 3) -> str:
    return f"{value:+.{digits}f}".replace("-", "\u2212")


def submission_summary(submission: Submission) -> str:
    """One line: "val 1.234 bpb, −0.012 vs baseline, rank #3" (and "new record")."""
    if submission.status != Status.SCORED or submission.mean_val_bpb is None:
        return submission.reason or submission.get_status_display()
    parts = [f"val {submission.mean_val_bpb:.3f} bpb"]
    baseline = submission.benchmark.baseline
    if (
        baseline is not None
        and baseline.pk != submission.pk
        and baseline.result_attempt is not None
        and baseline.mean_val_bpb is not None
    ):
        parts.append(f"{_signed(submission.mean_val_bpb - baseline.mean_val_bpb)} vs baseline")
    entry = LeaderboardEntry.objects.filter(submission=submission).first()
    if entry is not None:
        parts.append(f"rank #{entry.rank}")
    if submission.is_record:
        parts.append("new record")
    return ", ".join(parts)


STATUS_FOR = {
    Status.PENDING_APPROVAL: "pending",
    Status.QUEUED: "pending",
    Status.RUNNING: "pending",
    Status.SCORED: "success",
    Status.INCOMPLETE: "failure",
    Status.FAILED: "failure",
    Status.CANCELLED: "error",
    Status.SUPERSEDED: "error",
}


def _status_description(submission: Submission) -> str:
    bot = settings.GITHUB_BOT_NAME
    if submission.status == Status.PENDING_APPROVAL:
        return f"waiting for a maintainer's approval (@{bot} evaluate)"
    if submission.status == Status.QUEUED and submission.seeds_wanted:
        return "a possible record, not yet significant: running more seeds before deciding"
    if submission.status == Status.QUEUED:
        return f"queued for {submission.benchmark.slug} on the {submission.benchmark.queue} queue"
    if submission.status == Status.RUNNING:
        return f"training on {submission.benchmark.slug}"
    if submission.status == Status.SCORED:
        return submission_summary(submission)
    label = submission.get_status_display().lower()
    return f"{label}: {submission.reason}" if submission.reason else label


def _comment_body(submission: Submission) -> str:
    benchmark = submission.benchmark
    heading = submission.get_status_display().lower()
    if submission.status in (Status.SCORED, Status.INCOMPLETE, Status.FAILED, Status.CANCELLED):
        heading = str(submission.status)
    lines = [
        f"### Crucible · `{benchmark.slug}` · {heading}",
        "",
        f"Commit `{submission.head_sha[:7]}`, folder `{submission.folder}/`.",
        "",
    ]
    if submission.status == Status.SCORED:
        seeds = submission.runs.filter(attempt=submission.attempt).count()
        interval = (
            f" ± {submission.ci_val_bpb:.4f} (95 % confidence interval)"
            if submission.ci_val_bpb is not None
            else ""
        )
        lines.append(
            f"**{submission_summary(submission)}** (mean{interval} over {seeds} "
            f"seed{'s' if seeds != 1 else ''}, validation bits per byte, lower is better)."
        )
        if submission.is_record:
            lines.append("")
            lines.append(f"🏆 **New record** for this benchmark ({submission.record_note}).")
        elif submission.record_note:
            lines.append("")
            lines.append(f"Against the record: {submission.record_note}.")
        if not submission.official:
            lines.append("")
            lines.append("_Unofficial: trained on a reduced budget._")
    elif submission.reason:
        lines.append(f"**{submission.get_status_display()}**: {submission.reason}")
    if submission.status == Status.FAILED:
        guide = guide_markdown(contribution_guide(benchmark), site=settings.PLATFORM_URL)
        lines += ["", "<details><summary>How a submission folder is laid out</summary>", ""]
        lines += [guide, "", "</details>"]
    lines += [
        "",
        "| seed | status | val bpb | final loss | bytes/s | device |",
        "| ---: | --- | ---: | ---: | ---: | --- |",
    ]
    for run in submission.runs.filter(attempt=submission.attempt).order_by("seed"):
        curve = run.loss_curve or []
        final = curve[-1].get("loss") if curve and isinstance(curve[-1], dict) else None
        speed = (run.metrics or {}).get("bytes_per_second")
        lines.append(
            f"| {run.seed} | {run.get_status_display()} | "
            f"{_number(run.val_bits_per_byte, '.4f')} | {_number(final, '.4f')} | "
            f"{_number(speed, ',.0f')} | {run.device or '—'} |"
        )
    lines += ["", f"[Details, loss curves and logs]({submission_url(submission)})"]
    return "\n".join(lines)


def _number(value: Any, spec: str) -> str:
    return format(value, spec) if isinstance(value, int | float) else "—"


def submission_publish(*, submission: Submission) -> None:
    """Tell GitHub where a pull request or commit submission stands: the commit status on its
    SHA (`pending` waiting or queued, `success` with the score, `failure` with the reason,
    `error` cancelled or superseded) and, once finished, the platform's one PR comment.

    Stored and sent after commit by contrib's answers (retried, never posted twice). Configs
    have no commit to report on: nothing is sent for them.
    """
    if submission.repository_id is None or not submission.head_sha:
        return
    repository = submission.repository
    assert repository is not None
    commit_status_set(
        repository=repository,
        sha=submission.head_sha,
        state=STATUS_FOR[Status(submission.status)],
        description=_status_description(submission),
        target_url=submission_url(submission),
        context=f"crucible/{submission.benchmark.slug}",
    )
    finished = submission.status in (Status.SCORED, Status.INCOMPLETE, Status.FAILED)
    more_seeds = submission.status == Status.QUEUED and bool(submission.record_note)
    if (finished or more_seeds) and submission.pr_number:
        pull_request_comment_set(
            repository=repository, number=submission.pr_number, body=_comment_body(submission)
        )
