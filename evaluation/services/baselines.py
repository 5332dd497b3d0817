"""The baseline on each device class: its latest complete result on every class of device it ran
on, so that a submission's delta and record test compare it with the baseline as measured on
the same kind of machine (bf16 on a GPU and fp32 on a CPU do not score the same bytes alike).
The baseline is re-run on each class of the workers serving its queue when that class's result
is older than `EVALUATION_BASELINE_REFRESH` (`records.baselines_refresh`). Its reads
(`baseline_scores`, `baseline_means`, `baseline_devices`) are selectors."""

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
