"""Fair queues: which queued submission a worker of a queue runs next.

Celery delivers one message per queued submission, in the order they were queued; the
platform decides which submission a message's claim takes: maintainer priority first, then
round-robin by contributor (the one whose last job on the queue started longest ago, or never,
goes first), then the oldest. One person's twenty submissions do not starve everyone else's
one. Every claim takes one queued submission and every queued submission has one message, so
none is left behind."""

from datetime import datetime, timedelta

from django.db.models import Max
from django.utils import timezone

from evaluation.models import Submission, Worker

Status = Submission.Status
NEVER = datetime.min.replace(tzinfo=timezone.get_current_timezone())


def queued_in_order(*, queue: str) -> list[Submission]:
    """The queue's waiting submissions in the order workers take them (three queries)."""
    waiting = list(
        Submission.objects.filter(status=Status.QUEUED, benchmark__queue=queue)
        .select_related("benchmark", "contributor")
        .order_by("queued_at", "pk")
    )
    last_start = dict(
        Submission.objects.filter(benchmark__queue=queue, claimed_at__isnull=False)
        .values_list("contributor_id")
        .annotate(latest=Max("claimed_at"))
        .order_by()
    )
    taken: dict[int | None, int] = {}  # jobs handed out in this ordering, per contributor
    ordered: list[Submission] = []
    pending = list(waiting)
    while pending:
        # Round-robin: the contributor served least (in this round), then longest ago.
        best = min(
            pending,
            key=lambda s: (
                not s.priority,
                taken.get(s.contributor_id, 0),
                last_start.get(s.contributor_id) or NEVER,
                s.queued_at or NEVER,
                s.pk,
            ),
        )
        pending.remove(best)
        ordered.append(best)
        taken[best.contributor_id] = taken.get(best.contributor_id, 0) + 1
    return ordered


def queue_estimates(*, queue: str) -> dict[int, tuple[int, datetime | None]]:
    """Submission id → (position in its queue, estimated start) for the queue's waiting
    submissions. The estimate: the jobs ahead, shared among the queue's workers seen in the
    last five minutes, each taking as long as the median of the queue's last 20 finished jobs;
    None until a job has finished there or while no worker serves the queue."""
    order = queued_in_order(queue=queue)
    recent = Submission.objects.filter(
        benchmark__queue=queue,
        started_at__isnull=False,
        finished_at__isnull=False,
        status__in=[Status.SCORED, Status.INCOMPLETE, Status.FAILED],
    ).order_by("-finished_at")[:20]
    durations = sorted(
        (s.finished_at - s.started_at).total_seconds()
        for s in recent
        if s.finished_at is not None and s.started_at is not None
    )
    seen = timezone.now() - timedelta(minutes=5)
    workers = sum(
        1
        for w in Worker.objects.filter(revoked_at__isnull=True, last_seen_at__gte=seen)
        if queue in w.queues
    )
    typical = durations[len(durations) // 2] if durations else None
    now = timezone.now()
    estimates: dict[int, tuple[int, datetime | None]] = {}
    for position, submission in enumerate(order, start=1):
        start = None
        if typical is not None and workers:
            start = now + timedelta(seconds=typical * ((position - 1) // workers))
        estimates[submission.pk] = (position, start)
    return estimates
