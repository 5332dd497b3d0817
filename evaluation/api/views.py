"""Benchmarks, leaderboards and submissions. Reads are public (documented exception to the
global IsAuthenticated); creating needs a signed-in user; approving needs a maintainer."""

import builtins
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from contrib.api.permissions import PublicReadOnly
from evaluation.api.permissions import IsMaintainer, MaySubmissionAction
from evaluation.api.serializers import (
    ENTRY_VALUES,
    BenchmarkSerializer,
    LeaderboardEntrySerializer,
    SubmissionSerializer,
    leaderboard_api_rows,
)
from evaluation.models import Benchmark, Submission
from evaluation.selectors import leaderboard_entries, queue_positions
from evaluation.services import (
    benchmark_import_archive,
    submission_approve,
    submission_cancel,
    submission_create_config,
    submission_create_upload,
    submission_rerun,
    submitter_terms,
)
from evaluation.uploads import MAX_UPLOAD_BYTES


class UploadSerializer(serializers.Serializer[Any]):
    # A slug checked as one before any query (a NUL in a lookup is a 500 on PostgreSQL).
    benchmark = serializers.SlugField(max_length=50)
    title = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    archive = serializers.FileField(
        help_text="A .zip or .tar.gz of one submission folder: config.json (use {} for "
        "defaults), model.py, optionally optimizer.py and helper modules; at most 4 MiB."
    )


class BenchmarkImportSerializer(serializers.Serializer[Any]):
    archive = serializers.FileField(
        help_text="A .tar.gz of one benchmark folder (benchmark.toml and its data files)."
    )

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        # Named like the command's --update (the name of a serializer method, so added here).
        fields["update"] = serializers.BooleanField(
            default=False, help_text="Change the existing benchmark (new data: a new version)."
        )
        return fields


class BenchmarkViewSet(viewsets.ReadOnlyModelViewSet[Benchmark]):
    """Benchmarks and their precomputed leaderboards (`/api/benchmarks/<slug>/leaderboard/`);
    maintainers import benchmark folders (`/api/benchmarks/import/`)."""

    serializer_class = BenchmarkSerializer
    queryset = Benchmark.objects.select_related("baseline")
    lookup_field = "slug"

    def get_permissions(self) -> list[Any]:
        if self.action == "import_folder":
            return [IsAuthenticated(), IsMaintainer()]
        return [PublicReadOnly()]

    @extend_schema(
        request={"multipart/form-data": BenchmarkImportSerializer},
        responses={200: BenchmarkSerializer, 201: BenchmarkSerializer},
        filters=False,
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[MultiPartParser],
        filter_backends=[],
        pagination_class=None,
    )
    def import_folder(self, request: Request) -> Response:
        """Import a benchmark folder packed as .tar.gz: the same checks and service as
        `manage.py benchmark_import` and the admin (maintainers)."""
        given = BenchmarkImportSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        upload = given.validated_data["archive"]
        if upload.size > settings.BENCHMARK_UPLOAD_MAX_BYTES:
            raise ValidationError({"archive": ["larger than BENCHMARK_UPLOAD_MAX_BYTES"]})
        outcome = benchmark_import_archive(
            data=upload.read(), update=given.validated_data["update"]
        )
        return Response(
            BenchmarkSerializer(outcome.benchmark, context={"request": request}).data,
            status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK,
        )

    @extend_schema(responses=LeaderboardEntrySerializer(many=True), filters=False)
    @action(detail=True, serializer_class=LeaderboardEntrySerializer, filter_backends=[])
    def leaderboard(self, request: Request, slug: str) -> Response:
        benchmark = self.get_object()  # a 404 for a benchmark there is not
        entries = leaderboard_entries(benchmark=benchmark).values(*ENTRY_VALUES)
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(leaderboard_api_rows(page or []))


class SubmissionViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet[Submission]):
    """Submissions with their runs. POST a config: `{"benchmark": slug, "config": {...}}`."""

    serializer_class = SubmissionSerializer
    filterset_fields = ["benchmark__slug", "status", "source", "contributor__login"]
    ordering_fields = ["created_at", "mean_val_bpb"]

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Newest first; a queued one has its `queue_position` and `estimated_start`."""
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        items = list(page if page is not None else queryset)
        context = {**self.get_serializer_context(), "places": queue_positions(items)}
        data = SubmissionSerializer(items, many=True, context=context).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        submission = self.get_object()
        context = {**self.get_serializer_context(), "places": queue_positions([submission])}
        return Response(SubmissionSerializer(submission, context=context).data)

    def get_queryset(self) -> QuerySet[Submission]:
        return Submission.objects.select_related("benchmark", "contributor").prefetch_related(
            "runs"
        )

    def get_permissions(self) -> builtins.list[Any]:  # `list` is the action below
        if self.action in ("list", "retrieve"):
            return [PublicReadOnly()]
        if self.action in ("approve", "rerun"):
            return [IsAuthenticated(), IsMaintainer(), MaySubmissionAction()]
        if self.action == "cancel":
            return [IsAuthenticated(), MaySubmissionAction()]
        return [IsAuthenticated()]

    @extend_schema(
        request={
            "application/json": SubmissionSerializer,
            "multipart/form-data": UploadSerializer,
        },
        responses={201: SubmissionSerializer},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """A config as JSON; or code, a folder uploaded as multipart (`archive`): it waits for
        a maintainer's approval unless you are one."""
        if "archive" in request.FILES:
            return self._upload(request)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        submission = submission_create_config(
            benchmark=serializer.validated_data["benchmark"],
            config=serializer.validated_data["config"],
            title=serializer.validated_data.get("title", ""),
            **submitter_terms(request.user, code=False),  # type: ignore[arg-type]
        )
        return Response(self.get_serializer(submission).data, status=status.HTTP_201_CREATED)

    def _upload(self, request: Request) -> Response:
        given = UploadSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        benchmark = Benchmark.objects.filter(slug=given.validated_data["benchmark"]).first()
        if benchmark is None:
            raise ValidationError({"benchmark": ["No such benchmark."]})
        submission = submission_create_upload(
            benchmark=benchmark,
            archive=given.validated_data["archive"].read(MAX_UPLOAD_BYTES + 1),
            title=given.validated_data["title"],
            **submitter_terms(request.user, code=True),  # type: ignore[arg-type]
        )
        return Response(self.get_serializer(submission).data, status=status.HTTP_201_CREATED)

    def _act(self, service: Any, **kwargs: Any) -> Response:
        # A state that refuses the action is a domain error (TransitionError): contrib's handler.
        submission = service(submission=self.get_object(), **kwargs)
        return Response(self.get_serializer(submission).data)

    @extend_schema(request=None)  # no body
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        return self._act(submission_cancel, reason=f"cancelled by {request.user.get_username()}")

    @extend_schema(request=None)  # no body
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        return self._act(submission_approve, user=request.user)

    @extend_schema(request=None)  # no body
    @action(detail=True, methods=["post"])
    def rerun(self, request: Request, pk: str) -> Response:
        return self._act(submission_rerun)
