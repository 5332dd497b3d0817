"""contrib's models, one module per topic; import them from here (`from contrib.models import
Contributor`). Models hold fields, constraints and tiny derived properties; every write goes
through the topic's service functions (see `contrib/README.md`)."""

from contrib.models.docs import DocPage, DocRevision
from contrib.models.github import BotCommand, GitHubAnswer, WebhookDelivery
from contrib.models.honours import Award, Badge, HonorRoll, HonorRollEntry
from contrib.models.ledger import (
    GITHUB_SOURCES,
    Contribution,
    ContributionKind,
    ContributionSource,
    ContributionTally,
    ScoringRule,
)
from contrib.models.people import Contributor, ContributorMerge, Identity
from contrib.models.repositories import GitHubItem, Issue, PullRequest, Repository, RepositorySync
from contrib.models.rewards import Bounty, BountyEvent, Sponsorship

__all__ = [
    "GITHUB_SOURCES",
    "Award",
    "Badge",
    "BotCommand",
    "Bounty",
    "BountyEvent",
    "Contribution",
    "ContributionKind",
    "ContributionSource",
    "ContributionTally",
    "Contributor",
    "ContributorMerge",
    "DocPage",
    "DocRevision",
    "GitHubAnswer",
    "GitHubItem",
    "HonorRoll",
    "HonorRollEntry",
    "Identity",
    "Issue",
    "PullRequest",
    "Repository",
    "RepositorySync",
    "ScoringRule",
    "Sponsorship",
    "WebhookDelivery",
]
