"""A community of meaningful size for the page tests: people with a year of ledger rows,
issues, badges, a frozen honour roll, a benchmark with a baseline, scored submissions with loss
curves, records and a leaderboard. Built with bulk inserts so it costs a fraction of a second."""

import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from contrib.badges import badges_evaluate
from contrib.ledger import contribution_tallies_rebuild
from contrib.models import (
    Contribution,
    ContributionKind,
    ContributionSource,
    Contributor,
    Issue,
    Repository,
)
from contrib.skills import areas_mask
from evaluation.models import Benchmark, EvaluationRun, Submission
from evaluation.services import leaderboard_recompute
from tests.factories import (
    BenchmarkFactory,
    RepositoryFactory,
    SponsorshipFactory,
    SubmissionFactory,
)

PEOPLE = 60
PER_PERSON = 40
SUBMISSIONS = 30


@dataclass
class Community:
    people: list[Contributor]
    star: Contributor
    repository: Repository
    benchmark: Benchmark
    baseline: Submission
    scored: list[Submission]
    pr_submission: Submission


def _curve(start: float, points: int = 20) -> list[dict[str, Any]]:
    return [
        {"step": i * 10, "bytes": i * 20480, "elapsed": i * 0.5, "loss": start - i * 0.05}
        for i in range(points)
    ]


def _runs(submission: Submission, seeds: int, loss: float, score: float) -> list[EvaluationRun]:
    return [
        EvaluationRun(
            submission=submission,
            seed=seed,
            status=EvaluationRun.Status.OK,
            budget_bytes=409600,
            progress_bytes=409600,
            val_bits_per_byte=score + seed * 0.001,
            loss_curve=_curve(loss + seed * 0.01),
            metrics={"param_count": 812_345, "bytes_per_second": 52_000.0 + seed},
            log_tail=f"step 190 | bytes 409,600 | loss {loss - 0.9:.3f}\ndone seed {seed}\n",
            device="cpu",
        )
        for seed in range(seeds)
    ]


def build_community(*, people: int = PEOPLE, per_person: int = PER_PERSON) -> Community:
    rng = random.Random(7)
    now = timezone.now()
    repository = RepositoryFactory(full_name="crucible/model", github_id=1)
    persons = Contributor.objects.bulk_create(
        Contributor(github_id=10_000 + i, login=f"dev{i}", name=f"Developer {i}")
        for i in range(people)
    )
    star = persons[0]
    kinds = [k for k in ContributionKind.values if k != ContributionKind.SPONSORSHIP]
    Contribution.objects.bulk_create(
        Contribution(
            contributor=person,
            repository=repository,
            kind=kinds[(i + n) % len(kinds)] if n else ContributionKind.CODE,
            occurred_at=now - timedelta(days=rng.randint(0, 364), hours=rng.randint(0, 23)),
            source=ContributionSource.MANUAL,
            external_id=f"web-test:{i}:{n}",
            title=f"work {n}",
            metadata={"paths": ["train.py"]} if n % 3 == 0 else {},
            areas=areas_mask(
                kinds[(i + n) % len(kinds)] if n else ContributionKind.CODE,
                {"paths": ["train.py"]} if n % 3 == 0 else {},
            ),
        )
        for i, person in enumerate(persons)
        for n in range(per_person + (30 if i == 0 else 0))
    )
    # This month, so the live roll and "active" have people in them.
    Contribution.objects.bulk_create(
        Contribution(
            contributor=person,
            repository=repository,
            kind=ContributionKind.REVIEW,
            occurred_at=now - timedelta(minutes=5 + i),
            source=ContributionSource.MANUAL,
            external_id=f"web-test-now:{i}",
            areas=areas_mask(ContributionKind.REVIEW, {}),
        )
        for i, person in enumerate(persons[:20])
    )
    contribution_tallies_rebuild()  # bulk inserts bypass contribution_record's tallies
    Issue.objects.bulk_create(
        Issue(
            repository=repository,
            number=n,
            title=f"Issue {n}",
            state="open" if n % 2 else "closed",
            author=persons[n % people],
            labels=["good first issue"] if n % 5 == 0 else [],
            created_at=now - timedelta(days=n % 20, hours=5),
            first_response_at=now - timedelta(days=n % 20, hours=2) if n % 3 else None,
        )
        for n in range(1, 41)
    )
    SponsorshipFactory(node_id="S_1", sponsor=persons[1], sponsorable=star, tier_name="Supporter")
    badges_evaluate()

    benchmark = BenchmarkFactory(
        slug="demo-cpu", name="Demo (CPU)", engine_spec="demo-cpu", queue="cpu", seeds=2
    )
    baseline = SubmissionFactory(
        benchmark=benchmark,
        source=Submission.Source.CONFIG,
        title="Baseline",
        status=Submission.Status.SCORED,
        result_attempt=1,
        mean_val_bpb=3.0,
        std_val_bpb=0.01,
        finished_at=now - timedelta(days=200),
    )
    benchmark.baseline = baseline
    benchmark.save()
    EvaluationRun.objects.bulk_create(_runs(baseline, 2, 5.5, 3.0))
    scored = []
    for n in range(SUBMISSIONS):
        score = 2.95 - n * 0.01 if n % 3 == 0 else 2.99 + n * 0.001
        scored.append(
            SubmissionFactory(
                benchmark=benchmark,
                contributor=persons[n % people],
                source=Submission.Source.CONFIG,
                title=f"try {n}",
                config={"lr": 0.001 + n * 0.0001},
                status=Submission.Status.SCORED,
                result_attempt=1,
                mean_val_bpb=score,
                std_val_bpb=0.004,
                ci_val_bpb=0.0359,  # two seeds: t(0.975, 1) × 0.004 / √2
                is_record=n % 3 == 0,
                finished_at=now - timedelta(days=150 - n * 4),
            )
        )
        EvaluationRun.objects.bulk_create(_runs(scored[-1], 2, 5.4, score))
    pr_submission = SubmissionFactory(
        benchmark=benchmark,
        contributor=star,
        source=Submission.Source.PULL_REQUEST,
        repository=repository,
        pr_number=42,
        head_sha="a" * 40,
        title="Rotary embeddings",
        status=Submission.Status.PENDING_APPROVAL,
    )
    leaderboard_recompute(benchmark=benchmark)
    return Community(persons, star, repository, benchmark, baseline, scored, pr_submission)


@pytest.fixture
def community(db: None) -> Community:
    return build_community()


@pytest.fixture
def staff(db: None) -> User:
    return User.objects.create_user("maintainer", password="pw", is_staff=True)


@pytest.fixture
def owner(community: Community) -> User:
    """The account linked to the community's star contributor."""
    user = User.objects.create_user("star", password="pw")
    community.star.user = user
    community.star.save(update_fields=["user"])
    return user
