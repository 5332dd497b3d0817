"""Handing stored deliveries to the workers without holding up GitHub's request.

A delivery is stored (and answered 202) before anything is sent to the broker; the row is the
truth, the message only a wake-up call. Each web process sends the ids of the deliveries it
stored from a thread of its own, as one message per batch (`contrib.process_github_deliveries`):
under load a batch holds many, so the broker's per-message cost, most of an intake's, is paid
once for all of them. A process that exits sends what it holds first; one killed outright loses
only wake-up calls, and the beat's `requeue_stale_deliveries` sends those deliveries again
(nothing is lost, README "GitHub both ways"). With `CELERY_TASK_ALWAYS_EAGER` (the tests) the
processing runs at once, inline.
"""

import atexit
import logging
import os
import queue
import threading
import time

from django.conf import settings

from contrib.tasks import BATCH, process_github_deliveries

logger = logging.getLogger(__name__)
# How long the thread waits after a first id for more: a web process serves one request at a
# time, so without a wait every message would carry one delivery.
GATHER_SECONDS = 0.05


class _Dispatcher:
    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pid = 0

    def send(self, delivery_id: str) -> None:
        if settings.CELERY_TASK_ALWAYS_EAGER:
            process_github_deliveries.delay([delivery_id])
            return
        self._start()
        self._queue.put(delivery_id)

    def _start(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._queue = queue.SimpleQueue()  # a forked process's own, not its parent's
            threading.Thread(target=self._run, name="deliveries-out", daemon=True).start()
            self._pid = os.getpid()

    def _batch(self, first: str) -> list[str]:
        batch = [first]
        while len(batch) < BATCH:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _publish(self, batch: list[str]) -> None:
        try:
            process_github_deliveries.delay(batch)
        except Exception:
            logger.exception(
                "could not queue deliveries %s; the periodic requeue sends them again", batch
            )

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            time.sleep(GATHER_SECONDS)  # let a busy process gather more into this message
            self._publish(self._batch(first))

    def flush(self) -> None:
        """Send what this process still holds (at exit)."""
        if self._pid != os.getpid():
            return
        while True:
            try:
                first = self._queue.get_nowait()
            except queue.Empty:
                return
            self._publish(self._batch(first))


dispatcher = _Dispatcher()
atexit.register(dispatcher.flush)
