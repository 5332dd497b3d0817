from typing import Any

import factory
from django.utils import timezone

from contrib.ledger import contribution_record
from contrib.models import (
    Contribution,
    ContributionKind,
    ContributionSource,
    ContributionTally,
    Contributor,
    GitHubAnswer,
    Identity,
    Issue,
    PullRequest,
    Repository,
    RepositorySync,
    Sponsorship,
    WebhookDelivery,
)
from evaluation.models import Benchmark, EvaluationRun, Submission


class ContributorFactory(factory.django.DjangoModelFactory[Contributor]):
    class Meta:
        model = Contributor

    github_id = factory.Sequence(lambda n: 1_000_000 + n)
    login = factory.Sequence(lambda n: f"person{n}")


class RepositoryFactory(factory.django.DjangoModelFactory[Repository]):
    class Meta:
        model = Repository

    full_name = factory.Sequence(lambda n: f"org/repo{n}")
    github_id = factory.Sequence(lambda n: 5_000_000 + n)


class ContributionFactory(factory.django.DjangoModelFactory[Contribution]):
    """A ledger row recorded through `contribution_record`, as the platform records them, so
    its areas and the contributor's tallies are kept like in production."""

    class Meta:
        model = Contribution

    contributor = factory.SubFactory(ContributorFactory)
    kind = ContributionKind.CODE
    occurred_at = factory.LazyFunction(timezone.now)
    source = ContributionSource.MANUAL
    external_id = factory.Sequence(lambda n: f"test:{n}")

    @classmethod
    def _create(cls, model_class: type[Contribution], *args: Any, **kwargs: Any) -> Contribution:
        row, _created = contribution_record(**kwargs)
        return row


# Factories for every other model the tests create. They declare no defaults beyond what the
# model itself has, so `XFactory(**fields)` is exactly `X.objects.create(**fields)`; a test
# names every field that matters to it.


def _plain(model: type[Any]) -> type[factory.django.DjangoModelFactory[Any]]:
    meta = type("Meta", (), {"model": model})
    return type(f"{model.__name__}Factory", (factory.django.DjangoModelFactory,), {"Meta": meta})


BenchmarkFactory = _plain(Benchmark)
SubmissionFactory = _plain(Submission)
EvaluationRunFactory = _plain(EvaluationRun)
IssueFactory = _plain(Issue)
PullRequestFactory = _plain(PullRequest)
WebhookDeliveryFactory = _plain(WebhookDelivery)
SponsorshipFactory = _plain(Sponsorship)
RepositorySyncFactory = _plain(RepositorySync)
IdentityFactory = _plain(Identity)
ContributionTallyFactory = _plain(ContributionTally)
GitHubAnswerFactory = _plain(GitHubAnswer)
