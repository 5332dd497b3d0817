"""Who maintains a repository: write access on GitHub, asked of GitHub and cached briefly. Used
by the bot, by accounts (a maintainer's role on the platform) and by evaluation (who may run
code at once, approve, re-run)."""

from django.conf import settings
from django.core.cache import cache
from github import GithubException

from contrib.github.client import github_call, github_client
from contrib.models import Repository

WRITE_PERMISSIONS = ("admin", "maintain", "write")


def maintainer_check(*, repository: Repository, login: str) -> bool:
    """Whether `login` has write access to the repository, asked of GitHub, cached briefly."""
    key = f"crucible:github-permission:{repository.pk}:{login.lower()}"
    permission = cache.get(key)
    if permission is None:
        gh = github_client(repository=repository)
        try:
            with github_call():
                permission = gh.get_repo(repository.full_name).get_collaborator_permission(login)
        except GithubException as exc:
            if exc.status != 404:
                raise
            permission = "none"
        cache.set(key, permission, settings.GITHUB_PERMISSION_CACHE_SECONDS)
    return permission in WRITE_PERMISSIONS
