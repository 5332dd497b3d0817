"""`manage.py seed_demo`: a demo community to look at; running it again adds nothing."""

import random
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from contrib.badges import badges_evaluate
from contrib.bounties import bounty_create, bounty_transition
from contrib.contributors import contributor_get_or_create_from_github
from contrib.docs import doc_revision_create
from contrib.honor_rolls import honor_roll_freeze, period_window
from contrib.ledger import contribution_record
from contrib.mirrors import (
    issue_mirror_upsert,
    item_record_response,
    pull_request_mirror_upsert,
    repository_get_or_create_from_github,
)
from contrib.models import (
    Bounty,
    ContributionKind,
    ContributionSource,
    DocPage,
    HonorRoll,
    Issue,
    Repository,
)
from contrib.sponsorships import sponsorship_apply_event

ORG = "crucible-demo"
REPOSITORIES = [
    ("tinygpt", Repository.Role.MODEL, 7_000_001),
    ("docs", Repository.Role.DOCS, 7_000_002),
    ("eval-tools", Repository.Role.OTHER, 7_000_003),
]
FIRST = [
    "ada",
    "grace",
    "alan",
    "barbara",
    "edsger",
    "margaret",
    "donald",
    "frances",
    "ken",
    "radia",
    "linus",
    "guido",
    "yukihiro",
    "anders",
    "sophie",
    "tim",
    "katherine",
    "john",
    "hedy",
    "dennis",
    "bjarne",
    "shafi",
    "leslie",
    "fei",
    "yann",
    "geoffrey",
    "andrej",
    "noam",
    "ilya",
    "jeff",
    "sara",
    "mina",
    "omar",
    "priya",
]
LAST = ["lovelace", "hopper", "turing", "liskov", "dijkstra", "hamilton", "knuth", "allen"]
BOTS = ["dependabot[bot]", "crucible-ci[bot]"]
KIND_WEIGHTS = {
    ContributionKind.CODE: 30,
    ContributionKind.REVIEW: 20,
    ContributionKind.BUG: 10,
    ContributionKind.DOC: 12,
    ContributionKind.QUESTION: 6,
    ContributionKind.DISCUSSION: 25,
    ContributionKind.TEST: 8,
    ContributionKind.INFRA: 4,
    ContributionKind.MAINTENANCE: 3,
    ContributionKind.TRANSLATION: 3,
    ContributionKind.MENTORING: 3,
    ContributionKind.IDEAS: 4,
    ContributionKind.EVALUATION: 6,
    ContributionKind.SPONSORSHIP: 2,
}
TOPICS = [
    "rotary embeddings",
    "RMSNorm",
    "data loader",
    "learning-rate warmup",
    "bf16 autocast",
    "tokenizer-free input",
    "evaluation harness",
    "loss spikes",
    "gradient clipping",
    "checkpointing",
    "attention masks",
    "weight tying",
    "docs: quick start",
    "CI cache",
]


class Command(BaseCommand):
    help = (
        "Seed a demo community: repositories, contributors, a year of contributions, issues, PRs."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--contributions", type=int, default=600)

    def handle(self, *args: Any, contributions: int, **options: Any) -> None:
        rng = random.Random(20261128)  # fixed: the same community every time
        now = timezone.now()
        with transaction.atomic():
            repositories = [
                repository_get_or_create_from_github(
                    repo={"full_name": f"{ORG}/{name}", "id": github_id}
                )
                for name, _role, github_id in REPOSITORIES
            ]
            for repository, (_name, role, _id) in zip(repositories, REPOSITORIES, strict=True):
                if repository.role != role:
                    Repository.objects.filter(pk=repository.pk).update(role=role)
            people = []
            for index, first in enumerate(FIRST):
                login = f"{first}-{LAST[index % len(LAST)]}"
                people.append(
                    contributor_get_or_create_from_github(
                        user={
                            "id": 8_000_000 + index,
                            "login": login,
                            "type": "User",
                        }
                    )
                )
            bots = [
                contributor_get_or_create_from_github(
                    user={"id": 8_100_000 + i, "login": login, "type": "Bot"}
                )
                for i, login in enumerate(BOTS)
            ]
            # A few people do most of the work, as in every real project.
            weights = [1 / (rank + 1) ** 0.9 for rank in range(len(people))]
            kinds, kind_weights = zip(*KIND_WEIGHTS.items(), strict=True)
            created = 0
            for n in range(contributions):
                author = rng.choices(people, weights)[0]
                kind = rng.choices(kinds, kind_weights)[0]
                repository = (
                    repositories[1] if kind == ContributionKind.DOC else rng.choice(repositories)
                )
                topic = rng.choice(TOPICS)
                _row, was_created = contribution_record(
                    contributor=author,
                    repository=repository,
                    kind=kind,
                    occurred_at=now - timedelta(days=rng.uniform(0, 365)),
                    source=ContributionSource.MANUAL,
                    external_id=f"demo:contribution:{n}",
                    title=f"{kind.label}: {topic}",
                    url=f"https://github.com/{repository.full_name}",
                    metadata={"demo": True},
                )
                created += was_created
            for n in range(40):
                bot = bots[n % len(bots)]
                _row, was_created = contribution_record(
                    contributor=bot,
                    repository=repositories[0],
                    kind=ContributionKind.MAINTENANCE,
                    occurred_at=now - timedelta(days=rng.uniform(0, 365)),
                    source=ContributionSource.MANUAL,
                    external_id=f"demo:bot:{n}",
                    title="Bump dependencies",
                    metadata={"demo": True},
                )
                created += was_created
            items = self._seed_items(rng, now, repositories, people)
        # The demo shows a frozen honour roll for each past month of its year.
        month = period_window(period=HonorRoll.Period.MONTH, at=now)
        for _ in range(12):
            month = period_window(period=HonorRoll.Period.MONTH, at=month.starts_at - timedelta(1))
            for category in HonorRoll.Category.values:
                honor_roll_freeze(window=month, category=category)
        awards = badges_evaluate()
        self._seed_incentives(people)
        self._seed_docs()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo community ready: {len(repositories)} repositories, "
                f"{len(people) + len(bots)} contributors, {created} new contributions, "
                f"{items} issues and pull requests, {awards} new badge awards."
            )
        )

    def _seed_items(
        self, rng: random.Random, now: Any, repositories: list[Repository], people: list[Any]
    ) -> int:
        model_repo = repositories[0]
        count = 0
        for number in range(1, 81):
            created_at = now - timedelta(days=rng.uniform(1, 365))
            author = rng.choice(people)
            is_pr = number % 3 != 0
            closed = rng.random() < 0.7
            fields: dict[str, Any] = {
                "title": f"{'Improve' if is_pr else 'Problem with'} {rng.choice(TOPICS)}",
                "state": "closed" if closed else "open",
                "author": author,
                "labels": rng.sample(
                    ["good first issue", "bug", "docs", "model", "help wanted"], 1
                ),
                "html_url": f"https://github.com/{model_repo.full_name}/"
                f"{'pull' if is_pr else 'issues'}/{number}",
                "created_at": created_at,
                "updated_at": created_at,
                "closed_at": created_at + timedelta(days=rng.uniform(1, 20)) if closed else None,
            }
            if is_pr:
                fields["merged_at"] = fields["closed_at"] if closed and rng.random() < 0.8 else None
                item: Any = pull_request_mirror_upsert(
                    repository=model_repo, number=number, fields=fields
                )
            else:
                item = issue_mirror_upsert(repository=model_repo, number=number, fields=fields)
            if rng.random() < 0.85:
                responder = rng.choice(people)
                item_record_response(
                    item=item,
                    responder=responder,
                    responded_at=created_at + timedelta(hours=rng.expovariate(1 / 20)),
                )
            count += 1
        return count

    def _seed_incentives(self, people: list[Any]) -> None:
        """Two bounties (one open, one awarded) and a public sponsor."""
        maintainer, created = User.objects.get_or_create(
            username="demo-maintainer", defaults={"is_staff": True}
        )
        if created:
            maintainer.set_unusable_password()
            maintainer.save()
        issues = list(
            Issue.objects.filter(repository__full_name=f"{ORG}/tinygpt").order_by("number")
        )
        if not Bounty.objects.exists() and len(issues) >= 2:
            bounty_create(
                issue=issues[0],
                title="Stop the loss spikes at step 2k",
                amount_minor=50_000,
                currency="USD",
                funder="Crucible Sponsors",
                user=maintainer,
            )
            won = bounty_create(
                issue=issues[1],
                title="Document the evaluation harness",
                amount_minor=20_000,
                currency="EUR",
                funder="Acme AI Lab",
                kind="doc",
                user=maintainer,
            )
            winner = people[2]
            if winner.user is None:
                winner.user = User.objects.create_user(
                    username=f"demo-{winner.login}", password=None
                )
                winner.save(update_fields=["user"])
            bounty_transition(bounty=won, to=Bounty.State.CLAIMED, user=winner.user)
            bounty_transition(bounty=won, to=Bounty.State.SUBMITTED, user=winner.user)
            bounty_transition(bounty=won, to=Bounty.State.AWARDED, user=maintainer)
        sponsorship_apply_event(
            action="created",
            sponsorship={
                "node_id": "demo-sponsorship-1",
                "created_at": "2026-03-01T00:00:00Z",
                "privacy_level": "public",
                "sponsor": {"id": 8_200_000, "login": "acme-ai-lab", "type": "Organization"},
                "sponsorable": {"id": 8_200_001, "login": ORG, "type": "Organization"},
                "tier": {
                    "name": "$100 a month",
                    "monthly_price_in_cents": 10_000,
                    "is_one_time": False,
                },
            },
        )

    def _seed_docs(self) -> None:
        """Two community doc pages, one with a history of two revisions."""
        if DocPage.objects.exists():
            return
        author = User.objects.get(username="demo-maintainer")
        doc_revision_create(
            user=author,
            title="Contributing",
            body=DOCS_CONTRIBUTING[0],
            message="First version",
        )
        doc_revision_create(
            user=author,
            slug="contributing",
            title="Contributing",
            body=DOCS_CONTRIBUTING[1],
            message="Say how a change is scored",
        )
        doc_revision_create(
            user=author,
            title="How evaluation works",
            body=DOCS_EVALUATION,
            message="Explain the harness",
        )


DOCS_CONTRIBUTING = [
    """Welcome! Every contribution counts here: code, reviews, docs, bug reports, answers.

1. Pick an issue labelled **good first issue** on the [Start here](/issues/) page.
2. Open a pull request; a maintainer reviews it.
""",
    """Welcome! Every contribution counts here: code, reviews, docs, bug reports, answers.

1. Pick an issue labelled **good first issue** on the [Start here](/issues/) page.
2. Open a pull request; a maintainer reviews it.
3. A change to the model is **trained and scored** by the platform, and the bot comments
   with its bits per byte: where its folder goes and what it holds is below, for each
   benchmark (from the benchmark's own settings, as on [Submit](/submit/)).

Your work shows on your profile and, each month, on the [honour roll](/honors/).
""",
]
DOCS_EVALUATION = """Each submission trains a small byte-level language model on Shakespeare for a
fixed budget of training bytes, in a sandbox without network access. The harness then measures
**validation bits per byte** on text the model never saw. Lower is better.

| step | where |
| --- | --- |
| train | the submission's own code, sandboxed |
| score | the platform's harness, in a fresh process |

A result better than the leaderboard's best is a **record**.
"""
