"""An evaluation worker inside the test process: the real job loop (`evaluation/agent/job.py`)
and the real worker API views, reached through Django's test client instead of a socket (the
integration tests run the worker as its own process over HTTP)."""

import io
import tempfile
import uuid
from pathlib import Path
from typing import IO, Any

from django.test import Client
from django.utils import timezone

from evaluation.agent.cache import DataCache
from evaluation.agent.client import Platform
from evaluation.agent.job import JobSettings, job_run
from evaluation.models import Benchmark, EvaluationRun, Submission, Worker
from evaluation.services import worker_create


class ClientTransport:
    """The worker API over Django's test client: same views, same authentication."""

    def __init__(self) -> None:
        self.client = Client()
        self.calls: list[tuple[str, str, int]] = []

    def __call__(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, IO[bytes]]:
        response = self.client.generic(
            method,
            path,
            data=body or b"",
            content_type=headers.get("Content-Type", "application/octet-stream"),
            HTTP_AUTHORIZATION=headers["Authorization"],
        )
        content = (
            b"".join(response.streaming_content)  # type: ignore[attr-defined]
            if response.streaming
            else response.content
        )
        self.calls.append((method, path, response.status_code))
        return response.status_code, io.BytesIO(content)


class ApiWorker:
    """A worker as the platform sees it: its calls to the worker API, with results made up
    (the engine is tested on its own; `evaluate_now` runs it for real)."""

    def __init__(self, *queues: str, devices: list[str] | None = None) -> None:
        self.model, self.key = make_worker(*(queues or ("cpu",)))
        if devices is not None:  # as its hello would list them (`nvidia-smi`'s name, memory)
            self.model.devices = devices
            self.model.last_seen_at = timezone.now()
            self.model.save(update_fields=["devices", "last_seen_at"])
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {self.key}")

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(f"/api/worker/{path}", body or {}, content_type="application/json")

    def claim(self, submission: Submission) -> dict[str, Any]:
        answer = self.post(f"jobs/{submission.pk}/claim/")
        assert answer.status_code == 200, answer.content
        return dict(answer.json()["job"])

    def calibrate(self, benchmark: Benchmark, rate: float) -> None:
        timing = {"benchmark": benchmark.slug, "data_version": 1, "bytes_per_second": rate}
        assert self.post("calibration/", timing).status_code == 204

    def seed(
        self,
        submission: Submission,
        *,
        seed: int = 0,
        score: float = 2.5,
        trained: int | None = None,
        rate: float = 20_000.0,
        failed: bool = False,
        device: str | None = None,
    ) -> bool:
        """Run a seed and report what an engine would: `score`, and `trained` bytes (the whole
        budget by default) at `rate` bytes/s. Returns whether to go on."""
        run = self.post(f"jobs/{submission.pk}/runs/", {"seed": seed}).json()["run"]
        budget = EvaluationRun.objects.get(pk=run).budget_bytes
        trained = budget if trained is None else trained
        result = {
            "status": "failed" if failed else "ok",
            "error": "RuntimeError: boom" if failed else None,
            "fault": "submission" if failed else None,
            "val_bits_per_byte": None if failed else score,
            "bytes_trained": trained,
            "byte_budget": budget,
            "bytes_per_second": rate,
            "stopped_early": trained < budget,
            "device_name": device,
        }
        answer = self.post(
            f"runs/{run}/result/", {"result": result, "exit_status": 0, "output_tail": ""}
        )
        assert answer.status_code == 200, answer.content
        return bool(answer.json()["continue"])

    def evaluate(
        self, submission: Submission, scores: dict[int, float], *, device: str | None = None
    ) -> str:
        """Take the job, report a score for each seed it is given, and finish it."""
        job = self.claim(submission)
        assert job["submission"] == submission.pk, "the fair queue handed out another job"
        for seed in job["seeds"]:
            assert self.seed(submission, seed=seed, score=scores[seed], device=device)
        answer = self.post(f"jobs/{submission.pk}/finish/")
        assert answer.status_code == 200, answer.content
        return str(answer.json()["status"])


def queued_config(benchmark: Benchmark, *, login: str = "mona") -> Submission:
    """A config submission waiting on its benchmark's queue, by the contributor `login`."""
    from contrib.models import Contributor
    from tests.factories import ContributorFactory, SubmissionFactory

    author = Contributor.objects.filter(login=login).first() or ContributorFactory(login=login)
    return SubmissionFactory(
        benchmark=benchmark,
        source="config",
        config={},
        status="queued",
        queued_at=timezone.now(),
        contributor=author,
    )


def make_worker(*queues: str) -> tuple[Worker, str]:
    """A worker with a fresh token on `queues` (default: cpu and gpu)."""
    return worker_create(name=f"test-{uuid.uuid4().hex[:8]}", queues=list(queues or ("cpu", "gpu")))


def evaluate_now(
    submission_id: int,
    *,
    key: str | None = None,
    cache_dir: Path | None = None,
    transport: ClientTransport | None = None,
) -> str:
    """Run a queued submission as a worker would; returns its status afterwards."""
    if key is None:
        _worker, key = make_worker()
    platform = Platform(token=key, transport=transport or ClientTransport(), retries=0)
    cache = DataCache(
        cache_dir or Path(tempfile.mkdtemp(prefix="crucible-test-cache-")), max_bytes=1 << 30
    )
    job_run(platform, submission_id, JobSettings(cache=cache, run_timeout=900))
    return Submission.objects.get(pk=submission_id).status
