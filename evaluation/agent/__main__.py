"""`python -m evaluation.agent`: attach this machine to a Crucible platform as an evaluation
worker. Three settings, from the environment (README, "Add a GPU worker"):

- `PLATFORM_URL`: the platform's address (https://… in production);
- `CRUCIBLE_WORKER_TOKEN`: the worker token a maintainer made in the admin's Workers page
  (or `CRUCIBLE_WORKER_TOKEN_FILE`, a file holding it);
- `CELERY_BROKER_URL`: the broker (Redis) with the account the platform's operators gave it.

Optional: `CRUCIBLE_WORKER_CACHE` (folder of cached benchmark data), `CRUCIBLE_WORKER_CACHE_BYTES`
(its size bound), `EVALUATION_RUN_TIMEOUT` (seconds per seed), `CRUCIBLE_VAR_DIR` (the embedded
file-system broker's folder, on the platform's own machine only).
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from evaluation.agent.app import make_app, stop_worker
from evaluation.agent.cache import DataCache
from evaluation.agent.client import (
    HttpTransport,
    Platform,
    PlatformUnavailableError,
    TokenRefusedError,
)
from evaluation.agent.job import JobSettings

log = logging.getLogger("crucible.worker")
ROOT = Path(__file__).resolve().parents[2]


def setting(name: str, default: str = "") -> str:
    """This program's own settings, from its environment: not through `config.env`, whose
    package loads the platform's Celery app and Django; a worker host runs none of the platform
    (a test checks that nothing of Django is imported here)."""
    return os.environ.get(name, "").strip() or default


VAR_DIR = Path(setting("CRUCIBLE_VAR_DIR", str(ROOT / "var")))
# What a worker host must not hold: the platform's own secrets (checked at start, and named).
PLATFORM_SECRETS = (
    "DATABASE_URL",
    "SECRET_KEY",
    "GITHUB_TOKEN",
    "GITHUB_APP_PRIVATE_KEY",
    "GITHUB_WEBHOOK_SECRET",
    "GITHUB_CLIENT_SECRET",
    "EMAIL_URL",
)
HELLO_EVERY_S = 60.0
WAIT_FOR_PLATFORM_S = 10.0


def devices() -> list[str]:
    """This machine's accelerators as `nvidia-smi` names them, else its CPU (no torch import:
    the worker process holds no GPU memory; the engine's processes do)."""
    if shutil.which("nvidia-smi"):
        try:
            listed = subprocess.run(
                ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                capture_output=True,
                text=True,
                timeout=20,
                check=True,
            ).stdout
            gpus = [line.strip() for line in listed.splitlines() if line.strip()]
            if gpus:
                return gpus
        except (OSError, subprocess.SubprocessError):
            pass
    return [f"cpu ({os.cpu_count()} cores)"]


def token() -> str:
    value = setting("CRUCIBLE_WORKER_TOKEN")
    if not value and setting("CRUCIBLE_WORKER_TOKEN_FILE"):
        value = Path(setting("CRUCIBLE_WORKER_TOKEN_FILE")).read_text().strip()
    return value


def main() -> int:
    logging.basicConfig(
        level=logging.INFO, format="[%(asctime)s: %(levelname)s/worker] %(message)s"
    )
    platform_url = setting("PLATFORM_URL")
    key = token()
    broker_url = setting("CELERY_BROKER_URL")
    missing = [
        name
        for name, value in (
            ("PLATFORM_URL", platform_url),
            ("CRUCIBLE_WORKER_TOKEN", key),
            ("CELERY_BROKER_URL", broker_url),
        )
        if not value
    ]
    if missing:
        print(f"worker: set {', '.join(missing)} (README, 'Add a GPU worker')", file=sys.stderr)
        return 2
    held = [name for name in PLATFORM_SECRETS if os.environ.get(name)]
    if held:
        log.warning(
            "this worker's environment holds %s: a worker needs none of the platform's secrets; "
            "remove them from this machine",
            ", ".join(held),
        )
    platform = Platform(token=key, transport=HttpTransport(platform_url))
    host = socket.gethostname()
    while True:
        try:
            hello = platform.hello(host=host, devices=devices())
            break
        except TokenRefusedError as exc:
            print(f"worker: {exc}", file=sys.stderr)
            return 3
        except PlatformUnavailableError as exc:  # not up yet, or down for a while: wait
            log.warning("%s; trying again in %.0f s", exc, WAIT_FOR_PLATFORM_S)
            time.sleep(WAIT_FOR_PLATFORM_S)
    queues = [str(queue) for queue in hello["queues"]]
    for skipped in hello.get("skipped") or []:
        log.warning("not serving queue %s: %s", skipped.get("queue"), skipped.get("reason"))
    if not queues:
        print(f"worker: no queue that {hello['name']} can serve on this machine", file=sys.stderr)
        return 3
    log.info("worker %s on %s: queues %s", hello["name"], host, ", ".join(queues))
    cache = DataCache(
        Path(setting("CRUCIBLE_WORKER_CACHE", str(VAR_DIR / "worker-cache"))),
        max_bytes=int(setting("CRUCIBLE_WORKER_CACHE_BYTES", str(50 << 30))),
    )
    settings = JobSettings(
        cache=cache,
        run_timeout=float(setting("EVALUATION_RUN_TIMEOUT", str(4 * 3600.0))),
        min_free_bytes=int(setting("CRUCIBLE_WORKER_MIN_FREE_MB", "512")) << 20,
    )
    app = make_app(
        broker_url=broker_url, var_dir=str(VAR_DIR), platform=platform, settings=settings
    )
    _keep_checking_in(platform, host=host)
    app.worker_main(
        [
            "worker",
            "--queues",
            ",".join(queues),
            "--pool",
            "solo",  # one job at a time, in this process: the machine's devices are the job's
            "--prefetch-multiplier",
            "1",
            "--hostname",
            f"{hello['name']}@{host}",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "INFO",
        ]
    )
    return 0


def _keep_checking_in(platform: Platform, *, host: str) -> None:
    """Check in every minute while idle (the Workers page's "last seen"); a revoked token stops
    the worker at that call too, not only at its next job."""

    def loop() -> None:
        while not stop.wait(HELLO_EVERY_S):
            try:
                platform.hello(host=host, devices=devices())
            except TokenRefusedError as exc:
                stop_worker(str(exc))
                return
            except Exception as exc:  # noqa: BLE001 - the platform may be down for a while
                log.warning("check-in failed: %s", exc)

    stop = threading.Event()
    threading.Thread(target=loop, daemon=True, name="check-in").start()


if __name__ == "__main__":
    sys.exit(main())
