"""Workers without platform secrets: worker tokens (shown once, a digest kept, scoped to queues,
revocable), the worker API's refusals, the worker's data cache, and the reaper for a worker lost
between two calls. The job loop runs for real (`tests/support/worker.py`)."""

import hashlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import api_token_create
from evaluation.agent.cache import DataCache, DataFetchError
from evaluation.agent.client import Platform, TokenRefusedError
from evaluation.agent.job import JobSettings, job_run
from evaluation.models import EvaluationRun, Submission, Worker
from evaluation.services import (
    benchmark_import,
    runs_reap_stale,
    submission_cancel,
    worker_create,
    worker_revoke,
)
from tests.factories import BenchmarkFactory, SubmissionFactory
from tests.support.benchmark_folder import make_benchmark_folder
from tests.support.worker import ClientTransport, make_worker

pytestmark = pytest.mark.django_db


@pytest.fixture
def store(settings: Any, tmp_path: Path) -> Path:
    settings.CRUCIBLE_DATA_DIR = tmp_path / "store"
    return settings.CRUCIBLE_DATA_DIR


def bearer(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def queued(queue: str = "cpu", **fields: Any) -> Submission:
    benchmark = BenchmarkFactory(
        slug=f"b-{queue}", engine_spec="demo-cpu", queue=queue, seeds=1, byte_budget=4096
    )
    return SubmissionFactory(
        benchmark=benchmark, source="config", config={}, status="queued", **fields
    )


def test_a_token_is_shown_once_and_only_its_digest_is_kept() -> None:
    worker, key = worker_create(name="sponsor-h200", queues=["gpu", "gpu", " cpu "])
    assert key.startswith("crw_") and len(key) > 40
    assert worker.queues == ["cpu", "gpu"]
    assert worker.digest == hashlib.sha256(key.encode()).hexdigest()
    assert key not in json.dumps(list(Worker.objects.values()), default=str)


def test_the_admin_makes_a_worker_shows_its_token_once_and_revokes_it() -> None:
    admin = User.objects.create_superuser("root", password="pw-long-enough-1")
    client = Client()
    client.force_login(admin)
    page = client.post(
        "/admin/evaluation/worker/add/", {"name": "volunteer-a100", "queues": "gpu, cpu"}
    )
    assert page.status_code == 200
    worker = Worker.objects.get(name="volunteer-a100")
    key = page.context["key"]
    assert key in page.content.decode() and "not shown again" in page.content.decode()
    assert "python -m evaluation.agent" in page.content.decode()
    hello = Client().post(
        "/api/worker/hello/",
        {"host": "box", "devices": ["NVIDIA A100"]},
        content_type="application/json",
        **bearer(key),
    )
    assert hello.json() == {
        "name": "volunteer-a100",
        "queues": ["cpu", "gpu"],
        "skipped": [],
        "benchmarks": [],
    }
    listing = client.get("/admin/evaluation/worker/").content.decode()
    assert "volunteer-a100" in listing and "NVIDIA A100" in listing and key not in listing
    client.post(
        "/admin/evaluation/worker/",
        {"action": "revoke", "_selected_action": [worker.pk]},
    )
    refused = Client().post(
        "/api/worker/hello/", {"host": "box"}, content_type="application/json", **bearer(key)
    )
    assert refused.status_code == 401
    assert refused.json()["detail"] == "Unknown or revoked worker token."


def test_the_default_queue_is_never_a_workers() -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="platform's own tasks"):
        worker_create(name="sneaky", queues=["cpu", "default"])


@pytest.mark.parametrize(
    "path", ["/api/worker/hello/", "/api/worker/jobs/1/claim/", "/api/worker/runs/1/heartbeat/"]
)
def test_only_a_worker_token_opens_the_worker_api(path: str) -> None:
    user = User.objects.create_user("mona", password="pw-long-enough-1")
    _token, user_key = api_token_create(user=user, name="script")
    assert Client().post(path, {}, content_type="application/json").status_code == 401
    assert Client().post(path, {}, **bearer(user_key)).status_code == 401  # a user's token
    signed_in = APIClient()
    signed_in.force_login(user)
    assert signed_in.post(path, {}, format="json").status_code == 401  # a session
    _worker, key = make_worker()
    # …and a worker's token opens nothing else.
    assert Client().get("/api/submissions/?status=queued", **bearer(key)).status_code == 401


def test_a_job_on_another_queue_is_refused_and_stays_queued() -> None:
    submission = queued("gpu")
    _worker, key = make_worker("cpu")
    answer = Client().post(f"/api/worker/jobs/{submission.pk}/claim/", **bearer(key))
    assert answer.status_code == 409
    assert "does not serve" in answer.json()["detail"]
    assert Submission.objects.get(pk=submission.pk).status == "queued"


def test_a_worker_serves_only_queues_whose_benchmarks_it_has_the_gpus_for(
    store: Path, tmp_path: Path
) -> None:
    folder = make_benchmark_folder(tmp_path / "bench")
    toml = folder / "benchmark.toml"
    multi_gpu = 'seeds = [7]\ngpus = 2\ndevice = "cuda"'
    toml.write_text(toml.read_text().replace("seeds = [7]", multi_gpu))
    benchmark = benchmark_import(path=folder, queue="gpu2").benchmark
    _worker, key = make_worker("cpu", "gpu2")
    h200 = "NVIDIA H200, 143771 MiB"

    def hello(*devices: str) -> dict[str, Any]:
        answer = Client().post(
            "/api/worker/hello/",
            {"host": "box", "devices": list(devices)},
            content_type="application/json",
            **bearer(key),
        )
        assert answer.status_code == 200
        return dict(answer.json())

    one = hello(h200)
    assert one["queues"] == ["cpu"]
    assert one["skipped"] == [
        {
            "queue": "gpu2",
            "reason": "benchmark secret-text trains on 2 GPUs per run and this worker has 1; "
            "put it on a queue that only workers with 2 GPUs serve",
        }
    ]
    assert hello(h200, h200)["queues"] == ["cpu", "gpu2"]
    assert hello("cpu (2 cores)")["skipped"][0]["queue"] == "gpu2"
    # The claim checks again: the machine (or the benchmark) may have changed since its hello.
    submission = SubmissionFactory(benchmark=benchmark, source="config", config={}, status="queued")
    answer = Client().post(f"/api/worker/jobs/{submission.pk}/claim/", **bearer(key))
    assert answer.status_code == 409
    assert "trains on 2 GPUs per run and this worker has 0" in answer.json()["detail"]
    assert Submission.objects.get(pk=submission.pk).status == "queued"
    hello(h200, h200)
    claimed = Client().post(f"/api/worker/jobs/{submission.pk}/claim/", **bearer(key))
    assert claimed.status_code == 200 and claimed.json()["job"]["submission"] == submission.pk


def test_a_worker_cannot_write_to_a_run_it_does_not_hold() -> None:
    submission = queued()
    _holder, holder_key = make_worker("cpu")
    _other, other_key = make_worker("cpu")
    client = Client()
    claim = client.post(f"/api/worker/jobs/{submission.pk}/claim/", **bearer(holder_key))
    assert claim.json()["job"]["seeds"] == [0]
    run = client.post(
        f"/api/worker/jobs/{submission.pk}/runs/",
        {"seed": 0},
        content_type="application/json",
        **bearer(holder_key),
    ).json()["run"]
    forged = {
        "result": {"status": "ok", "val_bits_per_byte": 0.01},
        "exit_status": 0,
        "output_tail": "",
    }
    for path, body in (
        (f"/api/worker/runs/{run}/result/", forged),
        (f"/api/worker/runs/{run}/heartbeat/", {"progress_bytes": 1}),
    ):
        answer = client.post(path, body, content_type="application/json", **bearer(other_key))
        assert answer.status_code == 409, path
        assert "is not held by worker" in answer.json()["detail"]
    # Nor the submission: its seeds, its files, finishing or failing it.
    for path, body in (
        (f"/api/worker/jobs/{submission.pk}/runs/", {"seed": 0}),
        (f"/api/worker/jobs/{submission.pk}/fail/", {"reason": "sabotage"}),
        (f"/api/worker/jobs/{submission.pk}/finish/", {}),
    ):
        answer = client.post(path, body, content_type="application/json", **bearer(other_key))
        assert answer.status_code == 409 and "another worker" in answer.json()["detail"], path
    stolen = client.get(f"/api/worker/jobs/{submission.pk}/files/", **bearer(other_key))
    assert stolen.status_code == 409
    answer = client.post(f"/api/worker/jobs/{submission.pk}/finish/", **bearer(holder_key))
    assert answer.status_code == 409 and "not scored" in answer.json()["detail"]
    # The holder's own result is checked too: no negative or non-finite score.
    for bad in (
        {"val_bits_per_byte": -1},
        {"val_bits_per_byte": "NaN"},
        {"status": "great"},
        {"loss_curve": [{"step": 1, "loss": "<script>"}]},
        {"loss_curve": [{"step": 1, "note": 2.0}]},
    ):
        body = {**forged, "result": {**forged["result"], **bad}}
        answer = client.post(
            f"/api/worker/runs/{run}/result/",
            json.dumps(body),
            content_type="application/json",
            **bearer(holder_key),
        )
        assert answer.status_code in (400, 409), bad
    assert EvaluationRun.objects.get(pk=run).status == "running"


def test_a_revoked_token_stops_the_job_at_its_next_call(tmp_path: Path) -> None:
    submission = queued()
    worker, key = make_worker("cpu")
    worker_revoke(worker=worker)
    platform = Platform(token=key, transport=ClientTransport(), retries=0)
    settings = JobSettings(cache=DataCache(tmp_path, max_bytes=0), run_timeout=60)
    with pytest.raises(TokenRefusedError, match="revoked"):
        job_run(platform, submission.pk, settings)
    assert Submission.objects.get(pk=submission.pk).status == "queued"  # for another worker


def test_a_worker_short_of_disk_waits_before_it_claims(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Less free than CRUCIBLE_WORKER_MIN_FREE_MB where it writes: the worker says so and
    leaves the job queued, charged to no one, until there is room (here: until its wait ends,
    then it claims; a revoked token stops it at once, so nothing runs)."""
    import shutil

    submission = queued()
    worker, key = make_worker("cpu")
    worker_revoke(worker=worker)
    platform = Platform(token=key, transport=ClientTransport(), retries=0)
    settings = JobSettings(
        cache=DataCache(tmp_path, max_bytes=0), run_timeout=60,
        min_free_bytes=shutil.disk_usage(tmp_path).free + (1 << 40), room_wait_seconds=0.5,
    )  # fmt: skip
    with caplog.at_level("WARNING", logger="crucible.worker"), pytest.raises(TokenRefusedError):
        job_run(platform, submission.pk, settings)
    assert "waiting before taking a job" in caplog.text
    assert Submission.objects.get(pk=submission.pk).status == "queued"


def test_a_cancelled_submission_stops_the_worker_before_its_next_seed() -> None:
    submission = queued()
    _worker, key = make_worker("cpu")
    client = Client()
    client.post(f"/api/worker/jobs/{submission.pk}/claim/", **bearer(key))
    submission_cancel(submission=Submission.objects.get(pk=submission.pk), reason="not needed")
    answer = client.post(
        f"/api/worker/jobs/{submission.pk}/runs/",
        {"seed": 0},
        content_type="application/json",
        **bearer(key),
    )
    assert answer.status_code == 409 and "cancelled, not running" in answer.json()["detail"]


def test_benchmark_data_reaches_only_workers_of_its_queue(store: Path, tmp_path: Path) -> None:
    benchmark = benchmark_import(path=make_benchmark_folder(tmp_path / "bench")).benchmark
    digest = benchmark.definition["data"]["validation"][0]["sha256"]
    _cpu, cpu_key = make_worker("cpu")
    _gpu, gpu_key = make_worker("gpu")
    served = Client().get(f"/api/worker/data/{digest}/", **bearer(cpu_key))
    assert served.status_code == 200
    assert hashlib.sha256(b"".join(served.streaming_content)).hexdigest() == digest
    assert Client().get(f"/api/worker/data/{digest}/", **bearer(gpu_key)).status_code == 404
    assert Client().get(f"/api/worker/data/{digest}/").status_code == 401
    assert Client().get(f"/api/worker/data/{'0' * 64}/", **bearer(cpu_key)).status_code == 404
    assert Client().get("/api/worker/data/..%2F..%2Fetc/", **bearer(cpu_key)).status_code == 404


def test_the_cache_refuses_data_that_is_not_what_the_benchmark_names(tmp_path: Path) -> None:
    good = b"held-out text " * 100
    digest = hashlib.sha256(good).hexdigest()
    definition = {"data": {"validation": [{"sha256": digest, "size": len(good)}]}}
    cache = DataCache(tmp_path / "cache", max_bytes=10_000)

    def tampered(_digest: str, sink: Any) -> None:
        sink.write(good[:-1] + b"X")

    with pytest.raises(DataFetchError, match="another digest"):
        cache.ensure(definition, tampered)
    assert not list((tmp_path / "cache" / "sha256").glob("*/*"))

    def endless(_digest: str, sink: Any) -> None:
        while True:
            sink.write(b"x" * 4096)

    with pytest.raises(DataFetchError, match="larger than"):
        cache.ensure(definition, endless)
    cache.ensure(definition, lambda _d, sink: sink.write(good))
    assert cache.misses == 3 and cache.hits == 0
    cache.ensure(definition, tampered)  # present and checked already: not fetched again
    assert cache.hits == 1


def test_the_cache_keeps_to_its_size_bound(tmp_path: Path) -> None:
    cache = DataCache(tmp_path / "cache", max_bytes=2500)
    blobs = [bytes([n]) * 1000 for n in range(3)]
    for blob in blobs:
        digest = hashlib.sha256(blob).hexdigest()
        cache.ensure(
            {"data": {"train": [{"sha256": digest, "size": len(blob)}]}},
            lambda _d, sink, blob=blob: sink.write(blob),
        )
    kept = sum(path.stat().st_size for path in (tmp_path / "cache" / "sha256").glob("*/*"))
    assert kept <= 2500
    with pytest.raises(DataFetchError, match="CRUCIBLE_WORKER_CACHE_BYTES"):
        cache.ensure({"data": {"train": [{"sha256": "a" * 64, "size": 3000}]}}, lambda *_: None)


def test_a_worker_lost_between_two_calls_leaves_nothing_running() -> None:
    submission = queued()
    _worker, key = make_worker("cpu")
    Client().post(f"/api/worker/jobs/{submission.pk}/claim/", **bearer(key))
    # The worker died before it started a seed: no run beats, and nothing would reap a run.
    Submission.objects.filter(pk=submission.pk).update(
        claimed_at=timezone.now() - timedelta(minutes=10)
    )
    assert runs_reap_stale(stale_after=timedelta(minutes=2))["requeued"] == 1
    assert Submission.objects.get(pk=submission.pk).status == "queued"
    for _attempt in range(2):
        Client().post(f"/api/worker/jobs/{submission.pk}/claim/", **bearer(key))
        Submission.objects.filter(pk=submission.pk).update(
            claimed_at=timezone.now() - timedelta(minutes=10)
        )
        runs_reap_stale(stale_after=timedelta(minutes=2))
    lost = Submission.objects.get(pk=submission.pk)
    assert lost.status == "failed" and "lost by its worker 3 times" in lost.reason
    assert not lost.counts_for_quota


def test_the_worker_program_imports_nothing_of_the_platform() -> None:
    """A worker host runs the project's code, not the site: no settings, no database layer, no
    platform app (kombu imports a few `django.utils` helpers when Django is installed)."""
    import subprocess
    import sys

    from tests.support.processes import ROOT

    probe = (
        "import sys, evaluation.agent.__main__, evaluation.agent.app, evaluation.agent.job\n"
        "bad = ('config', 'contrib', 'accounts', 'rest_framework', 'environ', 'django.conf', "
        "'django.db', 'django.apps')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in bad or m.startswith(bad[-3:])))"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


# Attacks a red-team review found against the first version of the worker API, kept as tests.


def started(queue: str = "cpu", *, seeds: int = 1) -> tuple[Submission, str, int]:
    """A submission claimed by a fresh worker, its first seed started: (submission, key, run)."""
    submission = queued(queue)
    if seeds > 1:
        submission.benchmark.seeds = seeds
        submission.benchmark.save()
    _worker, key = make_worker(queue)
    client = Client()
    client.post(f"/api/worker/jobs/{submission.pk}/claim/", **bearer(key))
    run = client.post(
        f"/api/worker/jobs/{submission.pk}/runs/",
        {"seed": 0},
        content_type="application/json",
        **bearer(key),
    ).json()["run"]
    return submission, key, run


def post_result(key: str, run: int, result: dict[str, Any], **extra: Any) -> Any:
    body = {"result": result, "exit_status": 0, "output_tail": "", **extra}
    return Client().post(
        f"/api/worker/runs/{run}/result/",
        json.dumps(body),
        content_type="application/json",
        **bearer(key),
    )


@pytest.mark.parametrize(
    "result, extra",
    [
        ({"status": "ok", "val_bits_per_byte": 10**400}, {}),
        ({"status": "ok", "val_bits_per_byte": 1.7e308}, {}),
        ({"status": "ok", "val_bits_per_byte": 2.0, "bytes_trained": 2**70}, {}),
        ({"status": "ok", "val_bits_per_byte": 2.0, "loss_curve": [{"loss": 10**400}]}, {}),
        ({"status": "ok", "val_bits_per_byte": 2.0, "bytes_per_second": "fast"}, {}),
        ({"status": "ok", "val_bits_per_byte": 2.0, "stopped_early": {"no": 1}}, {}),
        ({"status": "ok"}, {}),  # an ok without its score
        ({"status": "failed", "error": "x"}, {"exit_status": 2**70}),
    ],
)
def test_a_result_no_engine_writes_is_refused_not_a_500(
    result: dict[str, Any], extra: dict[str, Any]
) -> None:
    submission, key, run = started()
    answer = post_result(key, run, result, **extra)
    assert answer.status_code in (400, 409), answer.content
    assert EvaluationRun.objects.get(pk=run).status == "running"
    assert Submission.objects.get(pk=submission.pk).status == "running"


def test_text_from_a_worker_is_stored_without_nul_and_capped() -> None:
    submission, key, run = started()
    answer = post_result(
        key, run, {"status": "failed", "error": "bad\x00" + "e" * 5000, "note": "y\x00"}
    )
    assert answer.status_code == 200 and answer.json() == {"continue": False}
    stored = EvaluationRun.objects.get(pk=run)
    assert "\x00" not in stored.error and len(stored.error) <= 2000
    assert stored.metrics["note"] == "y"
    assert "\x00" not in Submission.objects.get(pk=submission.pk).reason


def test_a_worker_whose_job_was_requeued_and_retaken_holds_nothing() -> None:
    submission, old_key, run = started()
    EvaluationRun.objects.filter(pk=run).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert runs_reap_stale(stale_after=timedelta(minutes=2))["requeued"] == 1
    _new, new_key = make_worker("cpu")
    assert (
        Client().post(f"/api/worker/jobs/{submission.pk}/claim/", **bearer(new_key)).json()["job"]
    )
    beat = Client().post(
        f"/api/worker/runs/{run}/heartbeat/", {}, content_type="application/json", **bearer(old_key)
    )
    assert beat.status_code == 409
    late = post_result(old_key, run, {"status": "failed", "error": "sabotage"})
    assert late.status_code == 409
    assert Submission.objects.get(pk=submission.pk).status == "running"


def test_one_seed_at_a_time() -> None:
    submission, key, _run = started(seeds=2)
    second = Client().post(
        f"/api/worker/jobs/{submission.pk}/runs/",
        {"seed": 1},
        content_type="application/json",
        **bearer(key),
    )
    assert second.status_code == 409 and "one seed at a time" in second.json()["detail"]


def test_a_run_that_beats_forever_is_still_reaped_after_the_run_timeout(settings: Any) -> None:
    submission, _key, run = started()
    settings.EVALUATION_RUN_TIMEOUT = 3600
    EvaluationRun.objects.filter(pk=run).update(
        started_at=timezone.now() - timedelta(days=3), heartbeat_at=timezone.now()
    )
    assert runs_reap_stale(stale_after=timedelta(minutes=2))["requeued"] == 1
    assert Submission.objects.get(pk=submission.pk).status == "queued"


def test_a_result_after_the_author_cancelled_is_not_kept() -> None:
    submission, key, run = started()
    submission_cancel(submission=Submission.objects.get(pk=submission.pk), reason="changed mind")
    answer = post_result(key, run, {"status": "ok", "val_bits_per_byte": 0.5})
    assert answer.json() == {"continue": False}
    assert EvaluationRun.objects.get(pk=run).status == "cancelled"
    assert Submission.objects.get(pk=submission.pk).status == "cancelled"


def test_a_seed_the_worker_itself_stopped_is_tried_again_then_fails_uncharged() -> None:
    """The platform's fault (the worker stopped it, its disk was full, an engine error): one
    more try on whichever worker takes it; a second time it fails, charged to no one."""
    submission, key, run = started()
    answer = post_result(key, run, {}, cancelled=True)
    assert answer.json() == {"continue": False}
    assert Submission.objects.get(pk=submission.pk).status == "queued"
    requeued = EvaluationRun.objects.get(pk=run)
    assert requeued.status == "queued" and "the platform's fault: requeued" in requeued.error

    client = Client()
    client.post(f"/api/worker/jobs/{submission.pk}/claim/", **bearer(key))
    again = client.post(
        f"/api/worker/jobs/{submission.pk}/runs/", {"seed": 0},
        content_type="application/json", **bearer(key),
    ).json()["run"]  # fmt: skip
    assert again == run and EvaluationRun.objects.get(pk=run).attempts == 2
    post_result(key, run, {"status": "failed", "fault": "platform", "error": "disk full"})
    failed = Submission.objects.get(pk=submission.pk)
    assert failed.status == "failed" and "disk full" in failed.reason
    assert not failed.counts_for_quota


def test_staff_who_may_only_view_workers_cannot_revoke_them() -> None:
    from django.contrib.auth.models import Permission

    viewer = User.objects.create_user("viewer", password="pw-long-enough-1", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_worker"))
    worker, _key = make_worker()
    client = Client()
    client.force_login(viewer)
    client.post("/admin/evaluation/worker/", {"action": "revoke", "_selected_action": [worker.pk]})
    worker.refresh_from_db()
    assert worker.revoked_at is None
