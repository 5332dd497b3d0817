import factory
from django.utils import timezone

from contrib.models import (
    Contribution,
    ContributionKind,
    ContributionSource,
    Contributor,
    Repository,
)


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
    class Meta:
        model = Contribution

    contributor = factory.SubFactory(ContributorFactory)
    kind = ContributionKind.CODE
    occurred_at = factory.LazyFunction(timezone.now)
    source = ContributionSource.MANUAL
    external_id = factory.Sequence(lambda n: f"test:{n}")
