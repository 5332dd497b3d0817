"""The baseline on each device class: its latest complete result on every class of device it ran
on, so that a submission's delta and record test compare it with the baseline as measured on
the same kind of machine (bf16 on a GPU and fp32 on a CPU do not score the same bytes alike).
The baseline is re-run on each class of the workers serving its queue when that class's result
is older than `EVALUATION_BASELINE_REFRESH` (`records.baselines_refresh`)."""

from django.utils import timezone

from evaluation.models import Benchmark, EvaluationRun, Submission


def baseline_record(submission: Submission) -> None:
    """Keep the baseline's just-completed result under the device class its seeds ran on."""
    benchmark = Benchmark.objects.select_for_update().get(pk=submission.benchmark_id)
    attempt = submission.result_attempt
    if benchmark.baseline_id != submission.pk or not submission.result_device or attempt is None:
        return
    results = dict(benchmark.baseline_results or {})
    results[submission.result_device] = {
        "scores": list(
            submission.runs.filter(
                status=EvaluationRun.Status.OK,
                attempt=attempt,
                val_bits_per_byte__isnull=False,
            )
            .order_by("seed")
            .values_list("val_bits_per_byte", flat=True)
        ),
        "attempt": submission.result_attempt,
        "version": submission.benchmark_version,
        "at": timezone.now().isoformat(),
    }
    Benchmark.objects.filter(pk=benchmark.pk).update(baseline_results=results)


def baseline_scores(benchmark: Benchmark, device: str) -> list[float]:
    """The baseline's seed scores on this device class and the benchmark's current data (none
    when it has not run there)."""
    found = (benchmark.baseline_results or {}).get(device) if device else None
    if not found or found.get("version") != benchmark.data_version:
        return []
    return [float(score) for score in found.get("scores", [])]


def baseline_means(benchmark: Benchmark) -> dict[str, float]:
    """Device class → the baseline's mean there, on the benchmark's current data."""
    means = {}
    for device in benchmark.baseline_results or {}:
        scores = baseline_scores(benchmark, device)
        if scores:
            means[device] = sum(scores) / len(scores)
    return means


def baseline_devices(benchmark: Benchmark) -> list[tuple[str, float, str]]:
    """(device class, the baseline's mean there, when it ran) for the leaderboard's note."""
    found = benchmark.baseline_results or {}
    return [
        (device, mean, str(found[device].get("at") or "")[:10])
        for device, mean in sorted(baseline_means(benchmark).items())
    ]
