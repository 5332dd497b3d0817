"""The worker API (`/api/worker/…`): what an evaluation worker (`evaluation/agent/`) calls with
its worker token, and nothing else may call. Each view is one service call of
`evaluation.services.jobs`; a worker writes only to runs it holds."""

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.http import FileResponse, HttpResponse
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, NotFound
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.throttling import token_check, token_failed
from evaluation.models import Worker
from evaluation.services import (
    job_claim,
    job_data,
    job_fail,
    job_files,
    job_finish,
    run_heartbeat,
    run_record,
    run_start,
    worker_authenticate,
    worker_calibrate,
    worker_hello,
)
from evaluation.services.workers import TOKEN_PREFIX as WORKER_TOKEN_PREFIX

MAX_TEXT = 64 << 10


class WorkerTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer crw_…` with a worker token (made in the admin's Workers page).
    Users' API tokens and sessions are not accepted here, nor worker tokens anywhere else."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in (b"bearer", b"token"):
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Send the worker token as `Authorization: Bearer <token>`.")
        key = parts[1].decode(errors="replace")
        if not key.startswith(WORKER_TOKEN_PREFIX):  # a user's token, say: no guess at ours
            raise AuthenticationFailed("Unknown or revoked worker token.")
        token_check(request._request)  # a locked-out address may not guess tokens
        worker = worker_authenticate(key=key)
        if worker is None:
            token_failed(request._request)
            raise AuthenticationFailed("Unknown or revoked worker token.")
        return AnonymousUser(), worker  # a machine, not a person: no user, no session

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="workers"'


class IsWorker(BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(request.auth, Worker)


class WorkerView(APIView):
    authentication_classes = [WorkerTokenAuthentication]
    permission_classes = [IsWorker]
    filter_backends: list[Any] = []
    pagination_class = None

    @property
    def worker(self) -> Worker:
        assert isinstance(self.request.auth, Worker)
        return self.request.auth


def _valid(serializer_class: type[serializers.Serializer[Any]], data: Any) -> dict[str, Any]:
    given = serializer_class(data=data)
    given.is_valid(raise_exception=True)
    return dict(given.validated_data)


class HelloSerializer(serializers.Serializer[Any]):
    host = serializers.CharField(max_length=200)
    devices = serializers.ListField(
        child=serializers.CharField(max_length=200), max_length=64, default=list
    )


class SkippedQueueSerializer(serializers.Serializer[Any]):
    queue = serializers.CharField()
    reason = serializers.CharField()


class HelloAnswerSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    queues = serializers.ListField(
        child=serializers.CharField(), help_text="The queues to consume."
    )
    skipped = SkippedQueueSerializer(
        many=True, help_text="Queues of the token that this worker cannot serve, and why."
    )
    benchmarks = serializers.ListField(child=serializers.CharField())


class HelloView(WorkerView):
    @extend_schema(request=HelloSerializer, responses=HelloAnswerSerializer, filters=False)
    def post(self, request: Request) -> Response:
        """A worker starting or checking in: its host and devices; answers its queues."""
        given = _valid(HelloSerializer, request.data)
        return Response(worker_hello(worker=self.worker, **given))


class CalibrationSerializer(serializers.Serializer[Any]):
    benchmark = serializers.SlugField()
    data_version = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    bytes_per_second = serializers.FloatField(min_value=1e-9, max_value=1e15)


class CalibrationView(WorkerView):
    @extend_schema(request=CalibrationSerializer, responses={204: None}, filters=False)
    def post(self, request: Request) -> Response:
        """The reference model's training bytes/s that this worker measured on a benchmark."""
        given = _valid(CalibrationSerializer, request.data)
        worker_calibrate(
            worker=self.worker,
            benchmark_slug=given["benchmark"],
            data_version=given["data_version"],
            bytes_per_second=given["bytes_per_second"],
        )
        return Response(status=204)


class ClaimAnswerSerializer(serializers.Serializer[Any]):
    job = serializers.JSONField(allow_null=True, help_text="null: no longer queued.")


class ClaimView(WorkerView):
    @extend_schema(request=None, responses=ClaimAnswerSerializer, filters=False)
    def post(self, request: Request, submission_id: int) -> Response:
        """Take a queued submission of the worker's queues: the job, or null."""
        return Response({"job": job_claim(worker=self.worker, submission_id=submission_id)})


class FilesView(WorkerView):
    @extend_schema(responses={(200, "application/gzip"): OpenApiTypes.BINARY}, filters=False)
    def get(self, request: Request, submission_id: int) -> HttpResponse:
        """The claimed submission's files, a .tar.gz of its folder."""
        data = job_files(worker=self.worker, submission_id=submission_id)
        return HttpResponse(data, content_type="application/gzip")


class DataView(WorkerView):
    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY}, filters=False
    )
    def get(self, request: Request, digest: str) -> FileResponse:
        """A stored benchmark file by sha256: only data of benchmarks on the worker's queues."""
        path = job_data(worker=self.worker, digest=digest)
        if path is None:
            raise NotFound("No data file with this sha256 for this worker's benchmarks.")
        if not path.is_file():
            raise NotFound("The data store has lost this file: import the benchmark again.")
        return FileResponse(path.open("rb"), content_type="application/octet-stream")


class RunStartSerializer(serializers.Serializer[Any]):
    seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1)


class RunStartAnswerSerializer(serializers.Serializer[Any]):
    run = serializers.IntegerField()


class RunStartView(WorkerView):
    @extend_schema(request=RunStartSerializer, responses=RunStartAnswerSerializer, filters=False)
    def post(self, request: Request, submission_id: int) -> Response:
        """Start one seed of a claimed submission."""
        given = _valid(RunStartSerializer, request.data)
        run = run_start(worker=self.worker, submission_id=submission_id, seed=given["seed"])
        return Response({"run": run.pk})


class HeartbeatSerializer(serializers.Serializer[Any]):
    progress_bytes = serializers.IntegerField(min_value=0, allow_null=True, default=None)
    loss = serializers.FloatField(allow_null=True, default=None)


class ContinueSerializer(serializers.Serializer[Any]):
    go_on = serializers.BooleanField(help_text="false: stop (cancelled, or the job ended).")

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        fields["continue"] = fields.pop("go_on")  # a Python keyword, so renamed here
        return fields


class HeartbeatView(WorkerView):
    @extend_schema(request=HeartbeatSerializer, responses=ContinueSerializer, filters=False)
    def post(self, request: Request, run_id: int) -> Response:
        """A held run's progress; answers whether to go on."""
        given = _valid(HeartbeatSerializer, request.data)
        go_on = run_heartbeat(worker=self.worker, run_id=run_id, **given)
        return Response({"continue": go_on})


class ResultSerializer(serializers.Serializer[Any]):
    result = serializers.DictField(help_text="The engine's result.json, as it wrote it.")
    exit_status = serializers.IntegerField(allow_null=True, min_value=-(2**31), max_value=2**31 - 1)
    output_tail = serializers.CharField(
        max_length=MAX_TEXT, allow_blank=True, trim_whitespace=False
    )
    cancelled = serializers.BooleanField(default=False)
    timed_out = serializers.BooleanField(default=False)


class ResultView(WorkerView):
    @extend_schema(request=ResultSerializer, responses=ContinueSerializer, filters=False)
    def post(self, request: Request, run_id: int) -> Response:
        """A held run's outcome; answers whether to go on with the next seed."""
        given = _valid(ResultSerializer, request.data)
        return Response({"continue": run_record(worker=self.worker, run_id=run_id, **given)})


class FailSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=2000)
    platform_fault = serializers.BooleanField(default=True)


class StatusSerializer(serializers.Serializer[Any]):
    status = serializers.CharField()


class FailView(WorkerView):
    @extend_schema(request=FailSerializer, responses=StatusSerializer, filters=False)
    def post(self, request: Request, submission_id: int) -> Response:
        """The worker could not run a claimed submission: fail it with the reason."""
        given = _valid(FailSerializer, request.data)
        status = job_fail(worker=self.worker, submission_id=submission_id, **given)
        return Response({"status": status})


class FinishView(WorkerView):
    @extend_schema(request=None, responses=StatusSerializer, filters=False)
    def post(self, request: Request, submission_id: int) -> Response:
        """Every seed scored: score, rank and credit the submission."""
        return Response({"status": job_finish(worker=self.worker, submission_id=submission_id)})


class WorkerTokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema describes worker tokens."""

    target_class = "evaluation.api.workers.WorkerTokenAuthentication"
    name = "workerToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A worker token (`crw_…`) from the admin's Workers page; it opens the "
            "worker API only.",
        }
