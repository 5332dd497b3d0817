"""An evaluation worker inside the test process: the real job loop (`evaluation/agent/job.py`)
and the real worker API views, reached through Django's test client instead of a socket (the
integration tests run the worker as its own process over HTTP)."""

import io
import tempfile
import uuid
from pathlib import Path
from typing import IO

from django.test import Client

from evaluation.agent.cache import DataCache
from evaluation.agent.client import Platform
from evaluation.agent.job import JobSettings, job_run
from evaluation.models import Submission, Worker
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
