"""Read API over the ledger. Public reads are the documented exception to IsAuthenticated."""

from typing import Any

from django.db.models import QuerySet
from django.http import Http404, HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from contrib.api.filters import AwardFilter, ContributionFilter, IssueFilter, PullRequestFilter
from contrib.api.params import (
    TIME_HELP,
    TIME_SCHEMA,
    boolean_param,
    choice_param,
    integer_param,
    params_read,
    time_param,
)
from contrib.api.permissions import PublicReadOnly
from contrib.api.serializers import (
    AwardSerializer,
    BadgeSerializer,
    ContributionSerializer,
    ContributorProfileSerializer,
    ContributorSerializer,
    HealthSerializer,
    HonorRollSerializer,
    IssueSerializer,
    PullRequestSerializer,
    RepositorySerializer,
    SponsorshipSerializer,
)
from contrib.badges import contributor_awards
from contrib.contributors import contributor_get_public
from contrib.health import community_health
from contrib.honor_rolls import honor_roll_get, period_window
from contrib.models import (
    Award,
    Badge,
    Contribution,
    Contributor,
    HonorRoll,
    Issue,
    PullRequest,
    Repository,
    Sponsorship,
)
from contrib.scores import contributor_tallies, contributor_with_totals, contributors_with_scores
from contrib.skills import contributor_skills
from contrib.sponsorships import sponsorships_public

HEALTH_PERIODS = ["week", "month", "quarter", "year"]


def _time(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, TIME_SCHEMA, description=f"{description}: {TIME_HELP}")


_SCORE_WINDOW = extend_schema(
    parameters=[
        _time("since", "Score only contributions from this time on"),
        _time("until", "Score only contributions before this time"),
        OpenApiParameter("bots", bool, description="Include bots (default true)."),
    ]
)


@extend_schema_view(list=_SCORE_WINDOW, retrieve=_SCORE_WINDOW)
class ContributorViewSet(viewsets.ReadOnlyModelViewSet[Contributor]):
    """Contributors with their score and contributions per kind; `?ordering=-score`."""

    permission_classes = [PublicReadOnly]
    serializer_class = ContributorSerializer
    lookup_field = "login"
    lookup_value_regex = "[^/]+"  # local accounts' handles hold a dot (`ada.local`)
    search_fields = ["login", "name"]
    ordering_fields = ["score", "contribution_count", "login", "created_at"]
    ordering = ["-score", "login"]

    def get_queryset(self) -> QuerySet[Contributor]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no database reads
            return Contributor.objects.none()
        params = self.request.query_params
        return contributors_with_scores(
            since=time_param(params, "since"),
            until=time_param(params, "until"),
            include_bots=boolean_param(params, "bots", default=True),
        )

    def get_object(self) -> Any:
        # The same look-up as the profile page: case-insensitive, a merged login followed.
        found = contributor_get_public(login=self.kwargs["login"])
        queryset = self.filter_queryset(self.get_queryset())
        obj = get_object_or_404(queryset, pk=found.pk if found else None)
        self.check_object_permissions(self.request, obj)
        return obj


class ContributionViewSet(viewsets.ReadOnlyModelViewSet[Contribution]):
    """The ledger, newest first; filter by kind, repository, contributor and time."""

    permission_classes = [PublicReadOnly]
    serializer_class = ContributionSerializer
    queryset = Contribution.objects.select_related("contributor", "repository")
    filterset_class = ContributionFilter
    search_fields = ["title"]
    ordering_fields = ["occurred_at", "recorded_at"]


class RepositoryViewSet(viewsets.ReadOnlyModelViewSet[Repository]):
    """Repositories the platform knows, tracked or not."""

    permission_classes = [PublicReadOnly]
    serializer_class = RepositorySerializer
    queryset = Repository.objects.all()
    filterset_fields = ["tracked", "role"]
    search_fields = ["full_name"]


class IssueViewSet(viewsets.ReadOnlyModelViewSet[Issue]):
    """Mirrored issues with their first response time."""

    permission_classes = [PublicReadOnly]
    serializer_class = IssueSerializer
    queryset = Issue.objects.select_related("repository", "author")
    filterset_class = IssueFilter
    search_fields = ["title"]
    ordering_fields = ["created_at", "updated_at", "number"]


class PullRequestViewSet(viewsets.ReadOnlyModelViewSet[PullRequest]):
    """Mirrored pull requests with their first response time."""

    permission_classes = [PublicReadOnly]
    serializer_class = PullRequestSerializer
    queryset = PullRequest.objects.select_related("repository", "author")
    filterset_class = PullRequestFilter
    search_fields = ["title"]
    ordering_fields = ["created_at", "updated_at", "number", "merged_at"]


class HonorRollView(APIView):
    """An honour roll: `?period=week|month|quarter|year|all&category=…&at=2026-10`. Past
    periods come frozen; the current one is live. Public read."""

    permission_classes = [PublicReadOnly]

    @extend_schema(
        parameters=[
            OpenApiParameter("period", str, enum=HonorRoll.Period.values, default="month"),
            OpenApiParameter("category", str, enum=HonorRoll.Category.values, default="overall"),
            _time("at", "A time in the period (default now)"),
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": 500, "default": 100},
                description="Rows, from 1 to 500.",
            ),
        ],
        responses=HonorRollSerializer,
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        values = params_read(
            period=lambda: choice_param(
                params, "period", default="month", choices=HonorRoll.Period.values
            ),
            category=lambda: choice_param(
                params, "category", default="overall", choices=HonorRoll.Category.values
            ),
            at=lambda: time_param(params, "at"),
            limit=lambda: integer_param(params, "limit", default=100, minimum=1, maximum=500),
        )
        roll = honor_roll_get(**values)
        return Response(HonorRollSerializer(roll).data)


# The API's front door: every collection, by URL name (the evaluation app's too; names, not
# imports, so contrib does not depend on it).
API_ROOT = {
    "contributors": "contributor-list",
    "contributions": "contribution-list",
    "repositories": "repository-list",
    "issues": "issue-list",
    "pull-requests": "pull-request-list",
    "badges": "badge-list",
    "awards": "award-list",
    "bounties": "bounty-list",
    "doc-pages": "doc-list",
    "sponsorships": "sponsorship-list",
    "honor-rolls": "honor-roll",
    "health": "health",
    "benchmarks": "benchmark-list",
    "submissions": "submission-list",
    "schema": "schema",
    "docs": "swagger-ui",
}


@extend_schema(exclude=True)
class ApiRootView(APIView):
    """The list of the API's collections; public, like the reads it points to."""

    permission_classes = [PublicReadOnly]

    def get(self, request: Request) -> Response:
        from django.urls import reverse

        return Response(
            {key: request.build_absolute_uri(reverse(name)) for key, name in API_ROOT.items()}
        )


class HealthView(APIView):
    """Community health (CHAOSS definitions) for a period: `?period=month&at=2026-10`; see
    `contrib.health` for each figure's definition. Public read."""

    permission_classes = [PublicReadOnly]

    @extend_schema(
        parameters=[
            OpenApiParameter("period", str, enum=HEALTH_PERIODS, default="month"),
            _time("at", "A time in the period (default now)"),
        ],
        responses=HealthSerializer,
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        values = params_read(
            period=lambda: choice_param(params, "period", default="month", choices=HEALTH_PERIODS),
            at=lambda: time_param(params, "at"),
        )
        figures = community_health(window=period_window(**values))
        return Response(HealthSerializer(figures).data)


class BadgeViewSet(viewsets.ReadOnlyModelViewSet[Badge]):
    """The badges there are to earn."""

    permission_classes = [PublicReadOnly]
    serializer_class = BadgeSerializer
    queryset = Badge.objects.all()
    lookup_field = "slug"


class AwardViewSet(viewsets.ReadOnlyModelViewSet[Award]):
    """Badges earned: `?contributor=login`, `?badge=slug`, newest first."""

    permission_classes = [PublicReadOnly]
    serializer_class = AwardSerializer
    queryset = Award.objects.select_related("badge", "contributor")
    filterset_class = AwardFilter


class SponsorshipViewSet(viewsets.ReadOnlyModelViewSet[Sponsorship]):
    """Public, current sponsorships only (as on the sponsors page): a private sponsor is never
    shown, not even to maintainers."""

    permission_classes = [PublicReadOnly]
    serializer_class = SponsorshipSerializer
    queryset = sponsorships_public()  # the sponsors page's definition
    filterset_fields = ["state"]


@extend_schema(responses=ContributorProfileSerializer)
class ContributorProfileView(APIView):
    """One contributor's profile: score and counts by kind, skills with progress, badges."""

    permission_classes = [PublicReadOnly]

    def get(self, request: Request, login: str) -> Response:
        contributor = contributor_get_public(login=login)  # as the page: merges followed
        if contributor is None:
            raise Http404("no such contributor")
        # All-time figures from the tallies: a few rows, however long the ledger.
        tallies = contributor_tallies(contributor=contributor)
        contributor_with_totals(contributor=contributor, tallies=tallies)
        awards = contributor_awards(contributor=contributor)  # as on the profile page
        return Response(
            {
                **ContributorSerializer(contributor).data,
                "skills": contributor_skills(contributor=contributor, tallies=tallies),
                "awards": AwardSerializer(awards, many=True).data,
            }
        )


@csrf_exempt  # any method: a POST to no operation is a 404 too, not a CSRF refusal
def api_not_found(request: HttpRequest, path: str) -> JsonResponse:
    """An address under /api/ that names no operation (`/api/issues/abc/`): a 404 in the API's
    JSON, as from its views, rather than the site's HTML page (or Django's debug page)."""
    return JsonResponse({"detail": "Not found."}, status=404)
