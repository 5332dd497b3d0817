"""The API of the community docs: pages, revisions, diffs (contrib.docs)."""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from contrib.api.params import (
    MAX_INTEGER,
)
from contrib.api.permissions import PublicReadOnly
from contrib.api.serializers import (
    ContributionSerializer,
    DocDiffSerializer,
    DocEditSerializer,
    DocPageSerializer,
    DocRevisionSerializer,
)
from contrib.docs import doc_diff, doc_revision_create
from contrib.models import (
    Contribution,
    DocPage,
)


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

    @extend_schema(request=DocEditSerializer, responses={201: DocPageSerializer})
    def create(self, request: Request) -> Response:
        body = DocEditSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        revision = doc_revision_create(user=request.user, **body.validated_data)  # type: ignore[arg-type]
        return Response(DocPageSerializer(revision.page).data, status=201)

    # No filter backends: they would order and search the pages by the revisions' fields.
    @extend_schema(responses=DocRevisionSerializer(many=True), filters=False)
    @action(
        detail=True,
        serializer_class=DocRevisionSerializer,
        pagination_class=None,
        filter_backends=[],
    )
    def revisions(self, request: Request, slug: str) -> Response:
        page = self.get_object()
        return Response(
            DocRevisionSerializer(page.revisions.select_related("author"), many=True).data
        )

    @extend_schema(
        parameters=[
            OpenApiParameter(
                name,
                {"type": "integer", "minimum": 1, "maximum": MAX_INTEGER},
                required=True,
                description=f"The number of the revision to diff {name}.",
            )
            for name in ("from", "to")
        ],
        responses=DocDiffSerializer,
    )
    @action(detail=True)
    def diff(self, request: Request, slug: str) -> Response:
        page = self.get_object()
        numbers: dict[str, int] = {}
        errors: dict[str, list[str]] = {}
        for name in ("from", "to"):
            raw = request.query_params.get(name)
            if raw is None or not raw.isascii() or not raw.isdigit() or int(raw) < 1:
                errors[name] = [f"give the {name} revision as a whole number from 1"]
            elif int(raw) > MAX_INTEGER or not page.revisions.filter(number=int(raw)).exists():
                errors[name] = [f"{page.slug} has no revision {raw}"]
            else:
                numbers[f"{name}_number"] = int(raw)
        if errors:
            # `detail` as well: the one key of this answer before it named the parameters.
            detail = "; ".join(message for messages in errors.values() for message in messages)
            raise ValidationError({**errors, "detail": detail})
        return Response({"diff": doc_diff(page=page, **numbers)})

    @extend_schema(responses=ContributionSerializer(many=True), filters=False)
    @action(detail=False, serializer_class=ContributionSerializer)
    def github(self, request: Request) -> Response:
        changes = Contribution.objects.filter(
            kind="doc", source__in=["github", "sync"]
        ).select_related("contributor", "repository")
        page = self.paginate_queryset(changes)  # type: ignore[arg-type]
        return self.get_paginated_response(ContributionSerializer(page, many=True).data)  # type: ignore[arg-type]
