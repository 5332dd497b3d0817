"""The API's filters, searching and ordering. Each parameter accepts exactly what the schema says
of it; anything else is a 400 naming the parameter (DRF and django-filter ignore an unknown
ordering or a boolean that is not one)."""

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.rest_framework import FilterSet as RestFilterSet
from drf_spectacular.utils import extend_schema_field
from rest_framework import filters
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.views import APIView

from contrib.api.params import TIME_HELP, TIME_SCHEMA, time_parse
from contrib.models import (
    Award,
    Contribution,
    ContributionKind,
    ContributionSource,
    Issue,
    PullRequest,
)


class _BooleanField(forms.Field):
    """`true` or `false`; given empty, or anything else, it is invalid."""

    def to_python(self, value: Any) -> bool | None:
        if value is None:
            return None
        if value not in ("true", "false"):
            raise forms.ValidationError("use true or false", code="invalid")
        return value == "true"


class BooleanFilter(django_filters.BooleanFilter):
    field_class = _BooleanField


class _TimeField(forms.Field):
    def to_python(self, value: Any) -> Any:
        if value is None:
            return None
        try:
            return time_parse(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from exc


@extend_schema_field(TIME_SCHEMA)
class TimeFilter(django_filters.Filter):
    """A time as the API reads it everywhere (`contrib.api.params.TIME_PATTERN`)."""

    field_class = _TimeField


class FilterSet(RestFilterSet):
    """The API's filter sets: strict booleans; and only free text may be given empty
    (`?label=`): an empty choice, time or boolean is a 400 naming it, where django-filter
    would ignore the parameter."""

    FILTER_DEFAULTS = {
        **RestFilterSet.FILTER_DEFAULTS,
        **{
            field: {"filter_class": BooleanFilter}
            for field, entry in RestFilterSet.FILTER_DEFAULTS.items()
            if entry.get("filter_class") is django_filters.rest_framework.BooleanFilter
        },
    }

    def is_valid(self) -> bool:
        valid = super().is_valid()
        for name, filter_ in self.filters.items():
            given_empty = self.data.get(name) == ""
            if given_empty and not isinstance(filter_, django_filters.CharFilter):
                if name not in self.form.errors:
                    self.form.add_error(name, "give a value, or leave the parameter out")
                valid = False
        return valid


class FilterBackend(DjangoFilterBackend):
    filterset_base = FilterSet


class SearchFilter(filters.SearchFilter):
    """DRF's, offered only where a view names fields to search; a term it cannot take (a NUL
    character) is a 400 naming `search`."""

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: APIView) -> Any:
        if not self.get_search_fields(view, request):
            return queryset
        try:
            return super().filter_queryset(request, queryset, view)
        except ValidationError as exc:
            raise ValidationError({self.search_param: exc.detail}) from exc

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        if not getattr(view, "search_fields", None):
            return []
        return super().get_schema_operation_parameters(view)


class OrderingFilter(filters.OrderingFilter):
    """DRF's, except that a field it cannot order by is a 400 naming `ordering`, and the schema
    lists the fields: `?ordering=-score,login`."""

    def _names(self, queryset: QuerySet[Any], view: APIView, request: Request | None) -> list[str]:
        context = {"request": request} if request is not None else {}
        return [str(name) for name, _label in self.get_valid_fields(queryset, view, context)]

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: APIView) -> Any:
        if getattr(view, "detail", False):  # one object, or a detail action's own rows
            return queryset
        return super().filter_queryset(request, queryset, view)

    def get_ordering(self, request: Request, queryset: QuerySet[Any], view: APIView) -> Any:
        raw = request.query_params.get(self.ordering_param)
        if raw is not None:
            names = self._names(queryset, view, request)
            terms = raw.split(",")  # as the schema's pattern has it: no spaces
            wrong = [term for term in terms if term.removeprefix("-") not in names]
            if wrong:
                raise ValidationError(
                    {
                        self.ordering_param: [
                            f"cannot order by {', '.join(repr(term) for term in wrong)}: use "
                            f"{', '.join(names)}, each with a leading - for descending"
                        ]
                    }
                )
            return terms
        return self.get_default_ordering(view)

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        queryset = view.get_queryset() if hasattr(view, "get_queryset") else None
        if queryset is None:
            return []
        names = "|".join(sorted(self._names(queryset, view, None)))
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": (
                    "Fields to order by, separated by commas, each with a leading `-` for "
                    "descending."
                ),
                "schema": {"type": "string", "pattern": f"^-?({names})(,-?({names}))*$"},
            }
        ]


class ContributionFilter(FilterSet):
    kind = django_filters.MultipleChoiceFilter(choices=ContributionKind.choices)
    source = django_filters.ChoiceFilter(choices=ContributionSource.choices)
    repository = django_filters.CharFilter(field_name="repository__full_name", lookup_expr="iexact")
    contributor = django_filters.CharFilter(field_name="contributor__login", lookup_expr="iexact")
    since = TimeFilter(
        field_name="occurred_at", lookup_expr="gte", help_text=f"From this time on: {TIME_HELP}."
    )
    until = TimeFilter(
        field_name="occurred_at", lookup_expr="lt", help_text=f"Before this time: {TIME_HELP}."
    )

    class Meta:
        model = Contribution
        fields = ["kind", "source", "repository", "contributor", "since", "until"]


class ItemFilter(FilterSet):
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
    merged = BooleanFilter(field_name="merged_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = PullRequest
        fields = ["repository", "author", "state", "label", "merged"]


class AwardFilter(FilterSet):
    contributor = django_filters.CharFilter(field_name="contributor__login", lookup_expr="iexact")
    badge = django_filters.CharFilter(field_name="badge__slug")

    class Meta:
        model = Award
        fields = ["contributor", "badge", "period_key"]
