"""Handing stored deliveries to the workers without holding up GitHub's request.

A delivery is stored (and answered 202) before anything is sent to the broker; the row is the
truth, the message only a wake-up call. Each web process sends the ids of the deliveries it
stored from a thread of its own, as one message per batch (`contrib.process_github_deliveries`):
under load a batch holds many, so the broker's per-message cost, most of an intake's, is paid
once for all of them. While the broker is out of reach the thread keeps the ids and tries again
(after half a second, doubling up to ten). A process that exits sends what it holds first; one
killed outright loses
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
MAX_RETRY_WAIT = 10.0  # seconds between tries while the broker is out of reach


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

    def _publish(self, batch: list[str]) -> bool:
        try:
            process_github_deliveries.delay(batch)
        except Exception as exc:  # noqa: BLE001 - the broker is out of reach: try again
            logger.warning("could not queue %d deliveries (%s); trying again", len(batch), exc)
            return False
        return True

    def _run(self) -> None:
        wait = 0.0
        while True:
            first = self._queue.get()
            time.sleep(GATHER_SECONDS + wait)  # a busy process gathers more into one message
            batch = self._batch(first)
            if self._publish(batch):
                wait = 0.0
                continue
            # The broker is down: keep the ids, and try again later, less often the longer it
            # lasts. If this process dies meanwhile, the beat's requeue sends them.
            for delivery_id in batch:
                self._queue.put(delivery_id)
            wait = min(MAX_RETRY_WAIT, max(0.5, wait * 2))

    def flush(self) -> None:
        """Send what this process still holds (at exit; once, whatever the broker says)."""
        if self._pid != os.getpid():
            return
        while True:
            try:
                first = self._queue.get_nowait()
            except queue.Empty:
                return
            if not self._publish(self._batch(first)):
                logger.error("deliveries left unqueued at exit: the beat's requeue sends them")
                return


dispatcher = _Dispatcher()
atexit.register(dispatcher.flush)
