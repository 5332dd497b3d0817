"""The worker's side of the worker API: one method per call, over HTTP(S) with the worker's
token. Transient failures (connection refused, 502/503/504, 429) are retried with backoff; a
refused token stops the worker; a refused call stops the job (the platform says why)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any, Protocol

from evaluation.engine.passes import json_safe

TRANSIENT_STATUSES = {429, 502, 503, 504}
CHUNK = 1 << 20


class TokenRefusedError(RuntimeError):
    """The platform refused this worker's token (revoked or unknown): the worker stops."""


class JobRefusedError(RuntimeError):
    """The platform refused a call about a job (not this worker's run, not running …)."""


class PlatformUnavailableError(RuntimeError):
    """The platform did not answer, or answered with a server error, after retries."""


class Sink(Protocol):
    """Where a download goes (a file, or a cache's checking writer)."""

    def write(self, data: bytes, /) -> int: ...


class Transport(Protocol):
    """Sends one request; returns the status and a readable body (closed by the caller)."""

    def __call__(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, IO[bytes]]: ...


@dataclass
class HttpTransport:
    base_url: str
    timeout: float = 60.0

    def __call__(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, IO[bytes]]:
        url = self.base_url.rstrip("/") + path
        if not url.startswith(("http://", "https://")):
            raise ConnectionError(f"PLATFORM_URL must be an http(s) URL, not {self.base_url!r}")
        request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310 - http(s), checked above
        try:
            response = urllib.request.urlopen(request, timeout=self.timeout)  # noqa: S310
        except urllib.error.HTTPError as exc:
            return exc.code, exc
        except (urllib.error.URLError, OSError) as exc:
            raise ConnectionError(str(exc)) from exc
        return response.status, response


class Platform:
    """The platform as one worker sees it."""

    def __init__(
        self,
        *,
        token: str,
        transport: Transport,
        retries: int = 5,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._token = token
        self._transport = transport
        self._retries = retries
        self._backoff = backoff
        self._sleep = sleep

    # -- the calls ---------------------------------------------------------------------------

    def hello(self, *, host: str, devices: list[str]) -> dict[str, Any]:
        return self._json("POST", "/api/worker/hello/", {"host": host, "devices": devices})

    def calibrate(self, benchmark: str, *, data_version: int, bytes_per_second: float) -> None:
        self._json(
            "POST",
            "/api/worker/calibration/",
            {
                "benchmark": benchmark,
                "data_version": data_version,
                "bytes_per_second": bytes_per_second,
            },
        )

    def claim(self, submission_id: int) -> dict[str, Any] | None:
        """The job, or None when the submission is no longer queued."""
        answer = self._json("POST", f"/api/worker/jobs/{submission_id}/claim/", {})
        return answer.get("job")

    def files(self, submission_id: int, sink: Sink) -> None:
        self._download(f"/api/worker/jobs/{submission_id}/files/", sink)

    def data(self, digest: str, sink: Sink) -> None:
        self._download(f"/api/worker/data/{digest}/", sink)

    def run_start(self, submission_id: int, seed: int) -> int:
        answer = self._json("POST", f"/api/worker/jobs/{submission_id}/runs/", {"seed": seed})
        return int(answer["run"])

    def heartbeat(self, run_id: int, *, progress_bytes: int | None, loss: float | None) -> bool:
        answer = self._json(
            "POST",
            f"/api/worker/runs/{run_id}/heartbeat/",
            {"progress_bytes": progress_bytes, "loss": loss},
            retries=1,
        )
        return bool(answer.get("continue"))

    def run_result(self, run_id: int, outcome: dict[str, Any]) -> bool:
        answer = self._json("POST", f"/api/worker/runs/{run_id}/result/", outcome)
        return bool(answer.get("continue"))

    def fail(self, submission_id: int, *, reason: str, platform_fault: bool) -> str:
        answer = self._json(
            "POST",
            f"/api/worker/jobs/{submission_id}/fail/",
            {"reason": reason, "platform_fault": platform_fault},
        )
        return str(answer.get("status"))

    def finish(self, submission_id: int) -> str:
        return str(self._json("POST", f"/api/worker/jobs/{submission_id}/finish/", {})["status"])

    # -- the wire ----------------------------------------------------------------------------

    def _json(
        self, method: str, path: str, payload: dict[str, Any], *, retries: int | None = None
    ) -> dict[str, Any]:
        body = json.dumps(json_safe(payload), allow_nan=False).encode()  # NaN travels as null
        status, stream = self._send(method, path, body, "application/json", retries=retries)
        with stream:
            data = stream.read()
        try:
            answer = json.loads(data or b"{}")
        except ValueError:
            raise PlatformUnavailableError(f"{path}: not JSON ({status})") from None
        return answer if isinstance(answer, dict) else {}

    def _download(self, path: str, sink: Sink) -> None:
        _status, stream = self._send("GET", path, None, None)
        with stream:
            while chunk := stream.read(CHUNK):
                sink.write(chunk)

    def _send(
        self,
        method: str,
        path: str,
        body: bytes | None,
        content_type: str | None,
        *,
        retries: int | None = None,
    ) -> tuple[int, IO[bytes]]:
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        attempts = (self._retries if retries is None else retries) + 1
        problem = ""
        for attempt in range(attempts):
            if attempt:
                self._sleep(min(60.0, self._backoff * 2 ** (attempt - 1)))
            try:
                status, stream = self._transport(method, path, body, headers)
            except ConnectionError as exc:
                problem = f"cannot reach the platform: {exc}"
                continue
            if status < 400:
                return status, stream
            with stream:
                text = stream.read(64 << 10)
            detail = _detail(text) or f"HTTP {status}"
            if status in TRANSIENT_STATUSES or status >= 500:
                problem = f"the platform answered {status}: {detail}"
                continue
            if status == 401:
                raise TokenRefusedError(f"the platform refused this worker's token: {detail}")
            raise JobRefusedError(detail)
        raise PlatformUnavailableError(f"{method} {path}: {problem}")


def _detail(text: bytes) -> str:
    try:
        answer = json.loads(text)
    except ValueError:
        return text.decode(errors="replace")[:500]
    if isinstance(answer, dict) and "detail" in answer:
        detail = answer["detail"]
        return " ".join(detail) if isinstance(detail, list) else str(detail)
    return json.dumps(answer)[:500]
