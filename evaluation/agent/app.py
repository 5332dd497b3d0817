"""The worker's Celery application: the broker URL alone (no Django settings), one task.

A job whose submission is no longer queued is acknowledged and dropped; one the platform does
not let this worker take (its queue or GPUs changed since the worker started) goes back to the
queue after a pause, for another worker; a refused token puts
the message back on the queue (another worker takes it) and stops this worker; a platform that
cannot be reached is retried with backoff."""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Any

from celery import Celery
from celery.exceptions import Reject

from evaluation.agent import EVALUATE_TASK, EVALUATION_KEY_PREFIX, broker_options
from evaluation.agent.client import Platform, PlatformUnavailableError, TokenRefusedError
from evaluation.agent.job import ClaimRefusedError, JobSettings, job_run

log = logging.getLogger("crucible.worker")
# Set when the platform refused this worker's token: every job still delivered before the
# shutdown goes straight back to the queue, without another call (each would count as a failed
# sign-in of this machine's address).
STOPPING = threading.Event()
CLAIM_REFUSED_PAUSE_S = 30.0


def stop_worker(reason: str) -> None:
    """Stop this worker for good (a warm shutdown: the current job's message goes back)."""
    if not STOPPING.is_set():
        STOPPING.set()
        log.error("%s: stopping this worker", reason)
        os.kill(os.getpid(), signal.SIGTERM)


def dispatcher(*, broker_url: str, var_dir: str) -> Celery:
    """The platform's sender of evaluation jobs: the same broker as its own tasks, under the
    evaluation key prefix that workers' broker accounts are limited to."""
    app = Celery("crucible-dispatch", broker=broker_url, set_as_current=False)
    app.conf.update(
        broker_transport_options=broker_options(
            broker_url, var_dir, key_prefix=EVALUATION_KEY_PREFIX
        ),
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        accept_content=["json"],
    )
    return app


def make_app(*, broker_url: str, var_dir: str, platform: Platform, settings: JobSettings) -> Celery:
    app = Celery("crucible-worker", broker=broker_url, set_as_current=True)
    app.conf.update(
        broker_transport_options=broker_options(
            broker_url, var_dir, key_prefix=EVALUATION_KEY_PREFIX
        ),
        worker_enable_remote_control=False,  # no pidbox: the broker account has no channels
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=False,  # a lost run is the platform's reaper's to requeue
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
    )

    @app.task(name=EVALUATE_TASK, bind=True, acks_late=True, max_retries=30)
    def evaluate_submission(self: Any, submission_id: int) -> str:
        if STOPPING.is_set():
            raise Reject("this worker is stopping", requeue=True)
        try:
            return job_run(platform, int(submission_id), settings)
        except ClaimRefusedError as exc:  # not a job for this worker (any more): another's
            log.warning("%s; the job goes back to the queue", exc)
            STOPPING.wait(CLAIM_REFUSED_PAUSE_S)  # not straight back to this worker
            raise Reject(str(exc), requeue=True) from exc
        except TokenRefusedError as exc:
            stop_worker(f"{exc}; the job goes back to the queue")
            raise Reject(str(exc), requeue=True) from exc
        except PlatformUnavailableError as exc:
            log.warning("submission #%s: %s; trying again later", submission_id, exc)
            raise self.retry(exc=exc, countdown=min(300, 10 * 2**self.request.retries)) from exc

    return app
