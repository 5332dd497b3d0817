"""Telling a submission's author it finished (scored, cut short or failed): an e-mail where
their account has an address (sent by the platform's worker through `EMAIL_URL`), the pull
request's comment (`publish`), and their private Atom feed (`evaluation/feeds.py`), which reads
the same words from `submission_outcome`."""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from evaluation.models import Submission
from evaluation.services.publish import submission_summary, submission_url

Status = Submission.Status
FINISHED = (Status.SCORED, Status.INCOMPLETE, Status.FAILED)


def submission_outcome(submission: Submission) -> tuple[str, str]:
    """A finished submission's one-line title and its few lines of text."""
    benchmark = submission.benchmark.slug
    title = f"#{submission.pk} on {benchmark}: {submission.get_status_display().lower()}"
    if submission.status == Status.SCORED:
        title += f", {submission_summary(submission)}"
    lines = [
        f"Your submission #{submission.pk} ({submission.title or submission.get_source_display()})"
        f" on {benchmark} is {submission.get_status_display().lower()}.",
    ]
    if submission.status == Status.SCORED:
        lines.append(f"Result: {submission_summary(submission)}.")
        if submission.record_note:
            lines.append(f"Against the record: {submission.record_note}.")
    elif submission.reason:
        lines.append(f"Why: {submission.reason}")
    lines += ["", f"Details, loss curves and logs: {submission_url(submission)}"]
    return title, "\n".join(lines)


def submission_notify(*, submission: Submission) -> None:
    """Queue the e-mail to a finished submission's author (once this transaction commits), when
    their account has an address. The feed and the pull request's comment need nothing here."""
    if submission.status not in FINISHED or submission.contributor is None:
        return
    user = getattr(submission.contributor, "user", None)
    if user is None or not user.email:
        return
    from evaluation.tasks import notify_author

    transaction.on_commit(lambda: notify_author.delay(submission.pk))


def submission_email(*, submission_id: int) -> bool:
    """Send the e-mail (the task's body); False when there is nobody to send it to."""
    submission = (
        Submission.objects.select_related("benchmark", "contributor__user")
        .filter(pk=submission_id)
        .first()
    )
    if submission is None or submission.status not in FINISHED or submission.contributor is None:
        return False
    user = getattr(submission.contributor, "user", None)
    if user is None or not user.email:
        return False
    title, text = submission_outcome(submission)
    send_mail(f"[Crucible] {title}", text, settings.DEFAULT_FROM_EMAIL, [user.email])
    return True
