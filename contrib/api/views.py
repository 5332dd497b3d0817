"""Read API over the ledger. Public reads are the documented exception to IsAuthenticated."""

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from contrib.api.filters import AwardFilter, ContributionFilter, IssueFilter, PullRequestFilter
from contrib.api.permissions import PublicReadOnly
from contrib.api.serializers import (
    AwardSerializer,
    BadgeSerializer,
    BountyActionSerializer,
    BountySerializer,
    ContributionSerializer,
    ContributorSerializer,
    DocEditSerializer,
    DocPageSerializer,
    DocRevisionSerializer,
    HealthSerializer,
    HonorRollSerializer,
    IssueSerializer,
    PullRequestSerializer,
    RepositorySerializer,
    SponsorshipSerializer,
)
from contrib.badges import contributor_awards
from contrib.bounties import bounty_create, bounty_payouts_csv, bounty_transition
from contrib.contributors import contributor_get_public
from contrib.docs import DocError, doc_diff, doc_revision_create
from contrib.health import community_health
from contrib.honor_rolls import honor_roll_get, parse_at, period_window
from contrib.models import (
    Award,
    Badge,
    Bounty,
    Contribution,
    Contributor,
    DocPage,
    HonorRoll,
    Issue,
    PullRequest,
    Repository,
    Sponsorship,
)
from contrib.scores import contributor_tallies, contributor_with_totals, contributors_with_scores
from contrib.skills import contributor_skills
from contrib.sponsorships import sponsorships_public


def _time_param(params: Any, name: str) -> datetime | None:
    """A time query parameter (`2026-10`, `2026-10-05` or ISO), or a 400 naming it."""
    raw = params.get(name)
    if not raw:
        return None
    try:
        return parse_at(raw)
    except ValueError as exc:
        raise ValidationError({name: f"use 2026-10, 2026-10-05 or an ISO time ({exc})"}) from exc


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("since", str, description="ISO time: score only from here on"),
            OpenApiParameter("until", str, description="ISO time: score only before this"),
            OpenApiParameter("bots", bool, description="include bots (default true)"),
        ]
    )
)
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
            since=_time_param(params, "since"),
            until=_time_param(params, "until"),
            include_bots=params.get("bots", "true").lower() not in ("false", "0", "no"),
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
            OpenApiParameter("period", str, enum=HonorRoll.Period.values),
            OpenApiParameter("category", str, enum=HonorRoll.Category.values),
            OpenApiParameter("at", str, description="a time in the period: 2026-10, 2026-10-05"),
            OpenApiParameter("limit", int, description="rows, at most 500 (default 100)"),
        ],
        responses=HonorRollSerializer,
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        period = params.get("period", HonorRoll.Period.MONTH)
        category = params.get("category", HonorRoll.Category.OVERALL)
        errors = {}
        if period not in HonorRoll.Period.values:
            errors["period"] = f"use one of {', '.join(HonorRoll.Period.values)}"
        if category not in HonorRoll.Category.values:
            errors["category"] = f"use one of {', '.join(HonorRoll.Category.values)}"
        try:
            at = parse_at(params["at"]) if params.get("at") else None
        except ValueError:
            errors["at"] = "use 2026-10, 2026-10-05 or an ISO time"
        try:
            limit = min(500, max(1, int(params.get("limit", 100))))
        except ValueError:
            errors["limit"] = "a number from 1 to 500"
        if errors:
            raise ValidationError(errors)
        roll = honor_roll_get(period=period, category=category, at=at, limit=limit)
        return Response(HonorRollSerializer(roll).data)


class HealthView(APIView):
    """Community health (CHAOSS definitions) for a period: `?period=month&at=2026-10`; see
    `contrib.health` for each figure's definition. Public read."""

    permission_classes = [PublicReadOnly]

    @extend_schema(
        parameters=[
            OpenApiParameter("period", str, enum=["week", "month", "quarter", "year"]),
            OpenApiParameter("at", str, description="a time in the period: 2026-10, 2026-10-05"),
        ],
        responses=HealthSerializer,
    )
    def get(self, request: Request) -> Response:
        period = request.query_params.get("period", HonorRoll.Period.MONTH)
        if period not in ("week", "month", "quarter", "year"):
            raise ValidationError({"period": "use week, month, quarter or year"})
        at = _time_param(request.query_params, "at")
        figures = community_health(window=period_window(period=period, at=at))
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


class BountyViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet[Bounty]):
    """Bounties on issues. Public read; each action checks its role (see contrib.bounties).
    POST `<id>/claim/`, `submit/`, `unclaim/`, `award/` (`{"winner": login}`), `pay/`,
    `cancel/`; `GET payouts/?month=2026-10` (maintainers) is the CSV for a fiscal host."""

    serializer_class = BountySerializer
    queryset = Bounty.objects.select_related(
        "issue__repository", "claimed_by", "awarded_to"
    ).prefetch_related("events__actor")
    filterset_fields = ["state", "currency"]

    def get_permissions(self) -> list[Any]:
        if self.action in ("list", "retrieve"):
            return [PublicReadOnly()]
        return [IsAuthenticated()]

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        bounty = bounty_create(  # a refusal is a domain error: contrib.api.errors maps it
            issue=data["issue"],
            title=data["title"],
            amount_minor=data["amount_minor"],
            currency=data["currency"],
            funder=data["funder"],
            kind=data.get("kind", "code"),
            expires_at=data.get("expires_at"),
            user=request.user,  # type: ignore[arg-type]
        )
        return Response(self.get_serializer(bounty).data, status=201)

    def _move(self, request: Request, to: str) -> Response:
        body = BountyActionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        winner = None
        if body.validated_data.get("winner"):
            winner = contributor_get_public(login=body.validated_data["winner"])
            if winner is None:
                raise ValidationError({"winner": "no contributor with that login"})
        bounty = bounty_transition(
            bounty=self.get_object(),
            to=to,
            user=request.user,  # type: ignore[arg-type]
            note=body.validated_data.get("note", ""),
            winner=winner,
        )
        return Response(self.get_serializer(bounty).data)

    @action(detail=True, methods=["post"])
    def claim(self, request: Request, pk: str) -> Response:
        return self._move(request, Bounty.State.CLAIMED)

    @action(detail=True, methods=["post"])
    def unclaim(self, request: Request, pk: str) -> Response:
        return self._move(request, Bounty.State.OPEN)

    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str) -> Response:
        return self._move(request, Bounty.State.SUBMITTED)

    @action(detail=True, methods=["post"])
    def award(self, request: Request, pk: str) -> Response:
        return self._move(request, Bounty.State.AWARDED)

    @action(detail=True, methods=["post"])
    def pay(self, request: Request, pk: str) -> Response:
        return self._move(request, Bounty.State.PAID)

    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        return self._move(request, Bounty.State.CANCELLED)

    @action(detail=False, methods=["get"])
    def payouts(self, request: Request) -> HttpResponse:
        if not request.user.is_staff:
            raise PermissionDenied("only maintainers export payouts")
        try:
            window = period_window(period="month", at=parse_at(request.query_params["month"]))
        except (KeyError, ValueError) as exc:
            raise ValidationError({"month": "give the month as 2026-10"}) from exc
        response = HttpResponse(
            bounty_payouts_csv(starts_at=window.starts_at, ends_at=window.ends_at),
            content_type="text/csv",
        )
        response["Content-Disposition"] = (
            f'attachment; filename="bounty-payouts-{window.starts_at:%Y-%m}.csv"'
        )
        return response


class DocPageViewSet(viewsets.ReadOnlyModelViewSet[DocPage]):
    """Community docs. Public read; signed-in users POST a new page or revision
    (`{"slug", "title", "body", "message"}`); `<slug>/revisions/`, `<slug>/diff/?from=1&to=2`;
    `github/` lists documentation changes that arrived from GitHub (docs commits, wiki edits)."""

    serializer_class = DocPageSerializer
    queryset = DocPage.objects.all()
    lookup_field = "slug"
    search_fields = ["title", "slug"]

    def get_permissions(self) -> list[Any]:
        if self.request.method in ("GET", "HEAD", "OPTIONS"):
            return [PublicReadOnly()]
        return [IsAuthenticated()]

    @extend_schema(request=DocEditSerializer, responses=DocPageSerializer)
    def create(self, request: Request) -> Response:
        body = DocEditSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            revision = doc_revision_create(user=request.user, **body.validated_data)  # type: ignore[arg-type]
        except DocError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return Response(DocPageSerializer(revision.page).data, status=201)

    @action(detail=True, serializer_class=DocRevisionSerializer)
    def revisions(self, request: Request, slug: str) -> Response:
        page = self.get_object()
        return Response(
            DocRevisionSerializer(page.revisions.select_related("author"), many=True).data
        )

    @action(detail=True)
    def diff(self, request: Request, slug: str) -> Response:
        page = self.get_object()
        try:
            diff = doc_diff(
                page=page,
                from_number=int(request.query_params.get("from", 0)),
                to_number=int(request.query_params.get("to", 0)),
            )
        except (DocError, ValueError) as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return Response({"diff": diff})

    @action(detail=False, serializer_class=ContributionSerializer)
    def github(self, request: Request) -> Response:
        changes = Contribution.objects.filter(
            kind="doc", source__in=["github", "sync"]
        ).select_related("contributor", "repository")
        page = self.paginate_queryset(changes)  # type: ignore[arg-type]
        return self.get_paginated_response(ContributionSerializer(page, many=True).data)  # type: ignore[arg-type]


class SponsorshipViewSet(viewsets.ReadOnlyModelViewSet[Sponsorship]):
    """Public, current sponsorships only (as on the sponsors page): a private sponsor is never
    shown, not even to maintainers."""

    permission_classes = [PublicReadOnly]
    serializer_class = SponsorshipSerializer
    queryset = sponsorships_public()  # the sponsors page's definition
    filterset_fields = ["state"]


@extend_schema(responses=dict)
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
