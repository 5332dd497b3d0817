"""Workers: machines attached with a worker token (made by a maintainer, shown once, stored as
a digest, scoped to queues, revocable). A worker reaches the platform only through the worker
API (`evaluation/api/workers.py`), never its database (README, "Add a GPU worker")."""

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from contrib.errors import InvalidError
from evaluation.agent import EVALUATION_KEY_PREFIX
from evaluation.models import Benchmark, Worker
from evaluation.selectors import benchmark_run_budget, benchmark_spec

TOKEN_PREFIX = "crw_"  # noqa: S105 - a prefix, not a secret; apart from users' API tokens (`cru_`): neither is accepted for the other
LAST_SEEN_RESOLUTION = timedelta(seconds=5)
PRIORITY_SEPARATOR = "\x06\x16"  # kombu's Redis transport: a queue's priority lists
MAX_DEVICES = 64


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def worker_create(
    *, name: str, queues: list[str], created_by: AbstractBaseUser | AnonymousUser | None = None
) -> tuple[Worker, str]:
    """A new worker and its token, which is never shown again. Queues must be ones that
    benchmarks use (or will: any name of letters, digits, `-` and `_`)."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the worker a name, to tell it apart later."})
    cleaned = sorted({queue.strip() for queue in queues if queue.strip()})
    if not cleaned:
        raise ValidationError({"queues": "Name at least one queue (for example gpu or cpu)."})
    for queue in cleaned:
        if not queue.replace("-", "").replace("_", "").isalnum() or len(queue) > 50:
            raise ValidationError({"queues": f"{queue!r} is not a queue name."})
        if queue == "default":
            raise ValidationError(
                {"queues": "the default queue runs the platform's own tasks, not a worker's"}
            )
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            worker = Worker.objects.create(
                name=name,
                queues=cleaned,
                prefix=key[:10],
                digest=_digest(key),
                created_by=created_by if isinstance(created_by, User) else None,
            )
    except IntegrityError:
        raise ValidationError({"name": f"A worker named {name!r} exists."}) from None
    return worker, key


def worker_rotate(*, worker: Worker) -> str:
    """A new token for an existing worker (the old one stops working); returns it, once."""
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    Worker.objects.filter(pk=worker.pk).update(
        prefix=key[:10], digest=_digest(key), revoked_at=None
    )
    worker.refresh_from_db()
    return key


def worker_broker_acl(*, worker: Worker, username: str, password: str) -> list[str]:
    """The Redis `ACL SETUSER` arguments of a worker's broker account: its queues' keys under
    the evaluation prefix and the shared unacknowledged-message keys, no channels, no admin or
    dangerous commands. It cannot read or write the platform's own queues (`default`)."""
    prefix = EVALUATION_KEY_PREFIX
    keys = [f"~{prefix}unacked", f"~{prefix}unacked_index", f"~{prefix}unacked_mutex"]
    for queue in worker.queues:
        keys += [
            f"~{prefix}{queue}",
            f"~{prefix}{queue}{PRIORITY_SEPARATOR}*",
            f"~{prefix}_kombu.binding.{queue}",
            f"~{prefix}_kombu.binding_permanent.{queue}",
        ]
    return [
        username,
        "reset",
        "on",
        f">{password}",
        *keys,
        "resetchannels",
        "+@all",
        "-@admin",
        "-@dangerous",
    ]


def worker_revoke(*, worker: Worker) -> Worker:
    """Revoke a worker's token: its next call is refused, and runs it holds are left to the
    reaper (requeued on another worker)."""
    Worker.objects.filter(pk=worker.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    worker.refresh_from_db()
    return worker


def worker_authenticate(*, key: str) -> Worker | None:
    """The active worker with this token; `None` for an unknown or revoked one. Records when
    it was last seen."""
    if not key.startswith(TOKEN_PREFIX):
        return None
    worker = Worker.objects.filter(digest=_digest(key), revoked_at__isnull=True).first()
    if worker is None:
        return None
    now = timezone.now()
    if worker.last_seen_at is None or now - worker.last_seen_at > LAST_SEEN_RESOLUTION:
        Worker.objects.filter(pk=worker.pk).update(last_seen_at=now)
        worker.last_seen_at = now
    return worker


CALIBRATION_MAX_AGE = timedelta(days=1)
CALIBRATION_STEPS = 20  # steps of the reference model a worker times per benchmark


def worker_reference_rate(*, worker: Worker, benchmark: Benchmark) -> float | None:
    """The reference model's training bytes/s on this worker for the benchmark's current data
    version, as the worker last measured it; None when it has not."""
    measured = (worker.calibration or {}).get(benchmark.slug)
    if not isinstance(measured, dict) or measured.get("data_version") != benchmark.data_version:
        return None
    rate = measured.get("bytes_per_second")
    return float(rate) if isinstance(rate, int | float) and rate > 0 else None


def worker_calibration_due(*, worker: Worker, benchmark: Benchmark) -> dict[str, Any] | None:
    """What the worker times before a job of the benchmark when it has not measured the
    reference model there (or not within a day, or not on the current data): a run of a few
    steps (at most the job's own budget). None when its measure is fresh, and for a benchmark
    on a reduced budget (unofficial demo and test runs: not worth the time)."""
    if benchmark.byte_budget:
        return None
    measured = (worker.calibration or {}).get(benchmark.slug) or {}
    at = parse_datetime(str(measured.get("measured_at") or ""))
    fresh = at is not None and timezone.now() - at < CALIBRATION_MAX_AGE
    if fresh and worker_reference_rate(worker=worker, benchmark=benchmark) is not None:
        return None
    spec = benchmark_spec(benchmark)
    budget, _cap = benchmark_run_budget(benchmark)
    return {
        "benchmark": benchmark.slug,
        "byte_budget": min(budget, CALIBRATION_STEPS * spec.batch_size * spec.block_size),
        "data_version": benchmark.data_version,
    }


def worker_calibrate(
    *, worker: Worker, benchmark_slug: str, data_version: int, bytes_per_second: float
) -> None:
    """Record the reference model's training bytes/s that the worker measured."""
    benchmark = Benchmark.objects.filter(slug=benchmark_slug, queue__in=worker.queues).first()
    if benchmark is None:
        raise InvalidError(f"no benchmark {benchmark_slug!r} on worker {worker.name!r}'s queues")
    if not (isinstance(bytes_per_second, int | float) and 0 < bytes_per_second < 1e15):
        raise InvalidError("bytes_per_second: a positive number of bytes per second")
    with transaction.atomic():
        locked = Worker.objects.select_for_update().get(pk=worker.pk)
        locked.calibration = {
            **(locked.calibration or {}),
            benchmark.slug: {
                "bytes_per_second": float(bytes_per_second),
                "data_version": data_version,
                "measured_at": timezone.now().isoformat(),
            },
        }
        locked.save(update_fields=["calibration"])
    worker.calibration = locked.calibration


def worker_slower_than_another(*, worker: Worker, benchmark: Benchmark) -> bool:
    """Whether this worker measured the reference below what the benchmark's budget needs
    while another worker of its queue, seen in the last minutes, measured it at or above."""
    budget, cap = benchmark_run_budget(benchmark)
    needed = budget / cap
    mine = worker_reference_rate(worker=worker, benchmark=benchmark)
    if mine is None or mine >= needed:
        return False
    recent = timezone.now() - 5 * timedelta(seconds=60)
    others = Worker.objects.filter(revoked_at__isnull=True, last_seen_at__gte=recent).exclude(
        pk=worker.pk
    )
    return any(
        benchmark.queue in other.queues
        and (worker_reference_rate(worker=other, benchmark=benchmark) or 0) >= needed
        for other in others
    )


def device_class(name: str) -> str:
    """A device's class, the same whether a run reports it (`NVIDIA H200`, `cpu`) or a worker's
    hello lists it (`NVIDIA H200, 143771 MiB`, `cpu (16 cores)`): results of one class compare
    like with like."""
    return str(name).split(",")[0].split(" (")[0].strip()[:100]


def worker_device_class(*, worker: Worker, benchmark: Benchmark) -> str:
    """The class of device this worker trains the benchmark's runs on: its first GPU, or `cpu`
    for a CPU benchmark or a machine without one."""
    gpus = [str(d) for d in worker.devices if not str(d).startswith("cpu")]
    if benchmark_spec(benchmark).device == "cpu" or not gpus:
        return "cpu"
    return device_class(gpus[0])


def live_device_classes(*, benchmark: Benchmark) -> list[str]:
    """The device classes of the workers serving the benchmark's queue, seen in the last five
    minutes (sorted)."""
    recent = timezone.now() - timedelta(minutes=5)
    workers = Worker.objects.filter(revoked_at__isnull=True, last_seen_at__gte=recent)
    return sorted(
        {
            worker_device_class(worker=worker, benchmark=benchmark)
            for worker in workers
            if benchmark.queue in worker.queues
        }
    )


def worker_gpus(devices: list[Any]) -> int:
    """The GPUs among a worker's devices as its hello lists them (a machine without one lists
    its CPU, `cpu (N cores)`)."""
    return sum(1 for device in devices if not str(device).startswith("cpu"))


def worker_misfit(*, benchmark: Benchmark, gpus: int) -> str | None:
    """Why a worker with `gpus` GPUs cannot run the benchmark's jobs; None when it can. A CUDA
    benchmark needs a GPU for each of a run's processes (one job at a time on a worker, so never
    two on one device); CPU and `auto` benchmarks run anywhere."""
    spec = benchmark_spec(benchmark)
    if spec.device == "cuda" and gpus < spec.gpus:
        needs = f"{spec.gpus} GPUs" if spec.gpus > 1 else "a GPU"
        return (
            f"benchmark {benchmark.slug} trains on {needs} per run and this worker has {gpus}; "
            f"put it on a queue that only workers with {needs} serve"
        )
    return None


def worker_hello(*, worker: Worker, host: str, devices: list[Any]) -> dict[str, Any]:
    """A worker starting (or checking in): record its host and devices; answer its name, the
    queues it may consume and the benchmarks on them. A queue holding a benchmark the worker
    cannot run (too few GPUs) is left out, and `skipped` says why: its jobs wait for a worker
    that can."""
    cleaned = [str(device)[:200] for device in devices[:MAX_DEVICES]]
    Worker.objects.filter(pk=worker.pk).update(host=host[:200], devices=cleaned)
    gpus = worker_gpus(cleaned)
    queues, skipped, served = [], [], []
    for queue in worker.queues:
        benchmarks = list(Benchmark.objects.filter(queue=queue, active=True).order_by("slug"))
        misfits = [m for b in benchmarks if (m := worker_misfit(benchmark=b, gpus=gpus))]
        if misfits:
            skipped.append({"queue": queue, "reason": "; ".join(misfits)})
        else:
            queues.append(queue)
            served += benchmarks
    return {
        "name": worker.name,
        "queues": queues,
        "skipped": skipped,
        "benchmarks": sorted(benchmark.slug for benchmark in served),
    }
