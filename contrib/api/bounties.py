"""The API of bounties: funded issues and the moves of their life (contrib.bounties)."""

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from contrib.api.params import (
    MONTH_SCHEMA,
    month_param,
)
from contrib.api.permissions import PublicReadOnly
from contrib.api.serializers import (
    BountyActionSerializer,
    BountyAwardSerializer,
    BountySerializer,
)
from contrib.bounties import bounty_create, bounty_payouts_csv, bounty_transition
from contrib.contributors import contributor_get_public
from contrib.honor_rolls import period_window
from contrib.models import (
    Bounty,
)

_bounty_move = extend_schema(request=BountyActionSerializer, responses=BountySerializer)
_bounty_award = extend_schema(request=BountyAwardSerializer, responses=BountySerializer)


_NOT_COLUMNS = ("issue", "issue_number", "repository", "events")


class BountyViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet[Bounty]):
    """Bounties on issues. Public read; each action checks its role (see contrib.bounties).
    POST `<id>/claim/`, `submit/`, `unclaim/`, `award/` (`{"winner": login}`), `pay/`,
    `cancel/`; `GET payouts/?month=2026-10` (maintainers) is the CSV for a fiscal host."""

    serializer_class = BountySerializer
    queryset = Bounty.objects.select_related(
        "issue__repository", "claimed_by", "awarded_to"
    ).prefetch_related("events__actor")
    filterset_fields = ["state", "currency"]
    # The answer's fields that are the bounty's own columns (not `events`: a row per event),
    # and the issue's number and repository by their paths.
    ordering_fields = [
        *(f for f in BountySerializer.Meta.fields if f not in _NOT_COLUMNS),
        "issue__number",
        "issue__repository__full_name",
    ]

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
        action_body = (
            BountyAwardSerializer if to == Bounty.State.AWARDED else BountyActionSerializer
        )
        body = action_body(data=request.data)
        body.is_valid(raise_exception=True)
        winner = None
        if body.validated_data.get("winner"):
            winner = contributor_get_public(login=body.validated_data["winner"])
            if winner is None:
                raise ValidationError({"winner": ["no contributor with that login"]})
        bounty = bounty_transition(
            bounty=self.get_object(),
            to=to,
            user=request.user,  # type: ignore[arg-type]
            note=body.validated_data.get("note", ""),
            winner=winner,
        )
        return Response(self.get_serializer(bounty).data)

    @_bounty_move
    @action(detail=True, methods=["post"])
    def claim(self, request: Request, pk: str) -> Response:
        return self._move(request, Bounty.State.CLAIMED)

    @_bounty_move
    @action(detail=True, methods=["post"])
    def unclaim(self, request: Request, pk: str) -> Response:
        return self._move(request, Bounty.State.OPEN)

    @_bounty_move
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str) -> Response:
        return self._move(request, Bounty.State.SUBMITTED)

    @_bounty_award
    @action(detail=True, methods=["post"])
    def award(self, request: Request, pk: str) -> Response:
        return self._move(request, Bounty.State.AWARDED)

    @_bounty_move
    @action(detail=True, methods=["post"])
    def pay(self, request: Request, pk: str) -> Response:
        return self._move(request, Bounty.State.PAID)

    @_bounty_move
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        return self._move(request, Bounty.State.CANCELLED)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "month", MONTH_SCHEMA, required=True, description="The month, as `2026-10`."
            )
        ],
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    @action(detail=False, methods=["get"])
    def payouts(self, request: Request) -> HttpResponse:
        if not request.user.is_staff:
            raise PermissionDenied("only maintainers export payouts")
        month = month_param(request.query_params, "month")
        window = period_window(period="month", at=month)
        response = HttpResponse(
            bounty_payouts_csv(starts_at=window.starts_at, ends_at=window.ends_at),
            content_type="text/csv",
        )
        response["Content-Disposition"] = (
            f'attachment; filename="bounty-payouts-{window.starts_at:%Y-%m}.csv"'
        )
        return response
