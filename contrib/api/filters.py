import django_filters

from contrib.models import (
    Award,
    Contribution,
    ContributionKind,
    ContributionSource,
    Issue,
    PullRequest,
)


class ContributionFilter(django_filters.FilterSet):
    kind = django_filters.MultipleChoiceFilter(choices=ContributionKind.choices)
    source = django_filters.ChoiceFilter(choices=ContributionSource.choices)
    repository = django_filters.CharFilter(field_name="repository__full_name", lookup_expr="iexact")
    contributor = django_filters.CharFilter(field_name="contributor__login", lookup_expr="iexact")
    since = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = Contribution
        fields = ["kind", "source", "repository", "contributor", "since", "until"]


class ItemFilter(django_filters.FilterSet):
    repository = django_filters.CharFilter(field_name="repository__full_name", lookup_expr="iexact")
    author = django_filters.CharFilter(field_name="author__login", lookup_expr="iexact")
    state = django_filters.CharFilter()
    label = django_filters.CharFilter(method="filter_label")

    def filter_label(self, queryset, name, value):
        # Labels are a JSON list; a containment lookup is not portable to SQLite, so match the
        # quoted name in the serialised list, which both databases support.
        return queryset.filter(labels__icontains=f'"{value}"')


class IssueFilter(ItemFilter):
    class Meta:
        model = Issue
        fields = ["repository", "author", "state", "label"]


class PullRequestFilter(ItemFilter):
    merged = django_filters.BooleanFilter(
        field_name="merged_at", lookup_expr="isnull", exclude=True
    )

    class Meta:
        model = PullRequest
        fields = ["repository", "author", "state", "label", "merged"]


class AwardFilter(django_filters.FilterSet):
    contributor = django_filters.CharFilter(field_name="contributor__login", lookup_expr="iexact")
    badge = django_filters.CharFilter(field_name="badge__slug")

    class Meta:
        model = Award
        fields = ["contributor", "badge", "period_key"]
