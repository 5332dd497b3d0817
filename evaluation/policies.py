"""Who may do what to a submission, and who skips the daily quota: one policy, used by the API's
permissions, the pages, the GitHub bot and pull-request intake alike.

- cancel: the submission's author or a maintainer;
- approve and re-run: a maintainer;
- the quota: maintainers are exempt;
- a pull request's code runs at once (no approval) for a maintainer or the author of a merged
  pull request in the repository.

"Maintainer" is a staff user on the platform, and on GitHub someone with write access to the
submission's repository (the bot asks GitHub); "author" is the contributor linked to the user,
or the GitHub account that opened the pull request. Whether the submission's *state* allows an
action is the state machine's business (`evaluation.services.transitions`); the pages offer
only what both allow (:func:`submission_actions_for_user`).
"""

from django.contrib.auth.models import AnonymousUser, User

from contrib.github.maintainers import maintainer_check
from contrib.models import Contributor, PullRequest, Repository
from evaluation.models import Submission

Status = Submission.Status
MAINTAINER_ONLY = ("approve", "rerun")


def submission_may(*, action: str, is_author: bool, is_maintainer: bool) -> bool:
    """Whether someone in this role may ``action`` ('cancel', 'approve', 'rerun') a submission."""
    if action == "cancel":
        return is_author or is_maintainer
    return action in MAINTAINER_ONLY and is_maintainer


def user_is_maintainer(user: User | AnonymousUser) -> bool:
    return bool(user.is_authenticated and user.is_staff)


def user_is_author(*, submission: Submission, user: User | AnonymousUser) -> bool:
    contributor = submission.contributor
    return bool(user.is_authenticated and contributor and contributor.user_id == user.pk)


def user_quota_exempt(user: User | AnonymousUser) -> bool:
    """Maintainers submit without the daily quota (the pages and the API alike)."""
    return user_is_maintainer(user)


def github_is_author(*, submission: Submission, login: str, github_id: int | None) -> bool:
    """Whether a GitHub account (a bot command's author) is the submission's author."""
    author = submission.contributor
    return author is not None and (
        (github_id is not None and author.github_id == github_id)
        or author.login.lower() == login.lower()
    )


def github_runs_at_once(*, repository: Repository, contributor: Contributor, login: str) -> bool:
    """Whether a pull request's code runs without waiting for a maintainer's approval: its
    author is a maintainer (write access on GitHub) or has a merged pull request in the
    repository."""
    merged = PullRequest.objects.filter(
        repository=repository, author=contributor, merged_at__isnull=False
    ).exists()
    return merged or maintainer_check(repository=repository, login=login)


def state_allows(*, action: str, submission: Submission) -> bool:
    """Whether the submission's state allows ``action`` now."""
    if action == "cancel":
        return submission.status in Submission.ACTIVE
    if action == "approve":
        return submission.status == Status.PENDING_APPROVAL
    finished = submission.status not in Submission.ACTIVE
    return finished and Status.QUEUED in Submission.ALLOWED_TRANSITIONS[submission.status]


def submission_actions_for_user(*, submission: Submission, user: User | AnonymousUser) -> list[str]:
    """What ``user`` may do to ``submission`` now: the policy, limited to what its state allows."""
    if not user.is_authenticated:
        return []
    is_author = user_is_author(submission=submission, user=user)
    is_maintainer = user_is_maintainer(user)
    return [
        action
        for action in ("cancel", "approve", "rerun")
        if submission_may(action=action, is_author=is_author, is_maintainer=is_maintainer)
        and state_allows(action=action, submission=submission)
    ]
