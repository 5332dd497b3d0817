"""Importing a benchmark folder: files stored by sha256 in the platform's private data store,
versions that are never ranked together, practice benchmarks without records, and a real run
of the engine on the imported text."""

import gzip
import random
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.test import APIClient

from evaluation.engine.folders import stored_path
from evaluation.models import Benchmark, LeaderboardEntry, Submission
from evaluation.services import (
    benchmark_import,
    benchmark_reveal_test,
    leaderboard_recompute,
    submission_create_config,
)
from tests.factories import ContributorFactory, RepositoryFactory, SubmissionFactory
from tests.support.benchmark_folder import make_benchmark_folder, secret_text
from tests.support.worker import ClientTransport, evaluate_now, make_worker

pytestmark = pytest.mark.django_db


@pytest.fixture
def store(settings: Any, tmp_path: Path) -> Path:
    settings.CRUCIBLE_DATA_DIR = tmp_path / "store"
    return settings.CRUCIBLE_DATA_DIR


def test_the_command_stores_every_file_by_sha256_and_queues_a_baseline(
    store: Path, tmp_path: Path
) -> None:
    folder = make_benchmark_folder(tmp_path / "bench")
    out = StringIO()
    call_command("benchmark_import", str(folder), stdout=out)
    assert "Benchmark secret-text created: 4 files" in out.getvalue()
    benchmark = Benchmark.objects.get(slug="secret-text")
    assert benchmark.queue == "cpu" and not benchmark.practice and benchmark.data_version == 1
    assert benchmark.seeds == 1 and benchmark.engine_spec == "demo-cpu"
    for split in benchmark.definition["data"].values():
        for listed in split:
            stored = stored_path(store, listed["sha256"])
            assert stored.is_file() and stored.stat().st_size == listed["size"]
            assert stored.stat().st_mode & 0o077 == 0  # the platform's alone
    assert benchmark.baseline is not None and benchmark.baseline.status == "queued"
    # The harness reads the stored files (named by digest alone) as the folder's text: the
    # .gz validation file decompressed.
    from evaluation.engine import data
    from evaluation.selectors import benchmark_spec

    _train, validation, test = data.splits(benchmark_spec(benchmark))
    assert validation == gzip.decompress((folder / "valid.txt.gz").read_bytes())
    assert test == (folder / "test.txt").read_bytes()

    # Again without --update: refused, nothing changed.
    with pytest.raises(CommandError, match="pass --update"):
        call_command("benchmark_import", str(folder), stdout=StringIO())
    # A bad folder: the key is named.
    (folder / "benchmark.toml").write_text((folder / "benchmark.toml").read_text() + "x = 1\n")
    with pytest.raises(CommandError, match=r"settings\.x: unknown setting"):
        call_command("benchmark_import", str(folder), "--update", stdout=StringIO())


def test_new_data_is_a_new_version_ranked_apart_with_a_new_baseline(
    store: Path, tmp_path: Path
) -> None:
    folder = make_benchmark_folder(tmp_path / "bench")
    first = benchmark_import(path=folder).benchmark
    old_baseline = first.baseline_id
    mona = ContributorFactory(login="mona")
    SubmissionFactory(
        benchmark=first,
        contributor=mona,
        status="scored",
        mean_val_bpb=2.0,
        benchmark_version=1,
        result_attempt=1,
    )
    leaderboard_recompute(benchmark=first)
    assert LeaderboardEntry.objects.filter(benchmark=first).count() == 1

    # Same data, new description: the same version.
    toml = folder / "benchmark.toml"
    toml.write_text(toml.read_text().replace("secret seed.", "secret seed, kept private."))
    same = benchmark_import(path=folder, update=True)
    assert not same.new_version and same.benchmark.data_version == 1
    assert same.benchmark.baseline_id == old_baseline

    # New validation text: version 2, a new baseline, and the old results leave the board.
    (folder / "valid.txt.gz").write_bytes(gzip.compress(secret_text(4_000, random.Random(7))))
    changed = benchmark_import(path=folder, update=True)
    benchmark = changed.benchmark
    assert changed.new_version and benchmark.data_version == 2
    assert benchmark.baseline_id != old_baseline
    assert Submission.objects.get(pk=benchmark.baseline_id).benchmark_version == 2
    assert not LeaderboardEntry.objects.filter(benchmark=benchmark).exists()
    SubmissionFactory(
        benchmark=benchmark,
        contributor=mona,
        status="scored",
        result_attempt=1,
        mean_val_bpb=2.5,
        benchmark_version=2,
    )
    leaderboard_recompute(benchmark=benchmark)
    assert [e.mean_val_bpb for e in LeaderboardEntry.objects.filter(benchmark=benchmark)] == [2.5]


def test_the_api_and_pages_never_serve_the_held_out_text(
    store: Path, tmp_path: Path, client: Any
) -> None:
    folder = make_benchmark_folder(tmp_path / "bench")
    benchmark_import(path=folder)
    validation = gzip.decompress((folder / "valid.txt.gz").read_bytes())
    test = (folder / "test.txt").read_bytes()
    secret = [validation[:64], test[:64], str(store).encode()]
    for path in (
        "/api/benchmarks/",
        "/api/benchmarks/secret-text/",
        "/api/benchmarks/secret-text/leaderboard/",
        "/leaderboard/secret-text/",
        "/submit/?benchmark=secret-text",
    ):
        body = APIClient().get(path).content
        assert not any(part in body for part in secret), path


def test_a_practice_benchmark_awards_no_records(store: Path, tmp_path: Path) -> None:
    folder = make_benchmark_folder(tmp_path / "bench", practice=True)
    benchmark = benchmark_import(path=folder).benchmark
    assert benchmark.practice
    assert "Practice benchmark" in APIClient().get("/leaderboard/secret-text/").content.decode()


def test_a_config_on_an_imported_benchmark_trains_and_scores_on_its_text(
    store: Path, tmp_path: Path
) -> None:
    """The whole worker path: the worker fetches the benchmark's files from the platform by
    sha256 into its cache, hands the engine the definition and the cache; the engine's harness
    reads the text; the result is scored and ranked; a second job fetches nothing again."""
    folder = make_benchmark_folder(
        tmp_path / "bench", extra="[settings.config.lr]\ndefault = 0.01\nmaximum = 0.05\n"
    )
    benchmark = benchmark_import(path=folder).benchmark
    # The imported config range holds: 0.06 was allowed by the spec, not by this benchmark.
    with pytest.raises(ValidationError, match=r"config\.lr"):
        submission_create_config(
            benchmark=benchmark, contributor=ContributorFactory(login="hot"), config={"lr": 0.06}
        )
    submission = submission_create_config(
        benchmark=benchmark, contributor=ContributorFactory(login="mona"), config={}
    )
    cache = tmp_path / "cache"
    worker, key = make_worker("cpu")
    first, second = ClientTransport(), ClientTransport()
    assert (
        evaluate_now(benchmark.baseline_id, key=key, cache_dir=cache, transport=first) == "scored"
    )
    assert evaluate_now(submission.pk, key=key, cache_dir=cache, transport=second) == "scored"
    cached = sorted(path.name for path in (cache / "sha256").glob("*/*"))
    wanted = sorted(f["sha256"] for files in benchmark.definition["data"].values() for f in files)
    assert cached == wanted
    assert len([path for _m, path, _s in first.calls if "/data/" in path]) == len(wanted)
    assert not [path for _m, path, _s in second.calls if "/data/" in path]  # all cached
    paths = [path for _method, path, _status in second.calls]
    assert paths[0] == f"/api/worker/jobs/{submission.pk}/claim/"
    assert paths[-1] == f"/api/worker/jobs/{submission.pk}/finish/"
    assert all(status < 400 for *_rest, status in second.calls)
    worker.refresh_from_db()
    assert worker.jobs_done == 2 and worker.failures == 0 and worker.last_seen_at
    # Before its first job there the worker timed the reference model, and once is enough.
    assert ("POST", "/api/worker/calibration/", 204) in first.calls
    assert not [path for _m, path, _s in second.calls if "calibration" in path]
    timing = worker.calibration["secret-text"]
    assert timing["bytes_per_second"] > 0 and timing["data_version"] == 1
    # A redelivered task claims nothing and runs nothing.
    assert evaluate_now(submission.pk, key=key, cache_dir=cache) == "scored"
    submission.refresh_from_db()
    run = submission.runs.get()
    assert run.worker == worker and run.attempts == 1
    assert run.seed == 7  # the folder's own seed list
    assert run.status == "ok" and 0 < submission.mean_val_bpb < 16  # 6 steps: near random
    assert run.progress_bytes == 1536  # the folder's byte budget
    assert LeaderboardEntry.objects.get(benchmark=benchmark).submission == submission

    # The hidden test split was scored, and is kept from everyone but maintainers.
    assert run.test_bits_per_byte is not None and submission.mean_test_bpb is not None
    assert "test_bits_per_byte" not in run.metrics
    hidden = f"{submission.mean_test_bpb:.4f}"
    anonymous = APIClient()
    for path in (f"/api/submissions/{submission.pk}/", "/api/benchmarks/secret-text/leaderboard/"):
        body = anonymous.get(path).content.decode()
        assert str(run.test_bits_per_byte)[:8] not in body, path
    page = anonymous.get("/leaderboard/secret-text/").content.decode()
    assert "Test bpb" not in page
    staff = User.objects.create_user("maintainer", password="pw-123456789", is_staff=True)
    maintainer = APIClient()
    maintainer.force_login(staff)
    page = maintainer.get("/leaderboard/secret-text/").content.decode()
    assert "Test bpb" in page and hidden in page and "Only maintainers see them" in page
    benchmark_reveal_test(benchmark=benchmark)
    page = anonymous.get("/leaderboard/secret-text/").content.decode()
    assert "Test bpb" in page and hidden in page


def _tarball(folder: Path, *, extra: tuple[str, bytes] | None = None) -> bytes:
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(folder, arcname="my-benchmark")
        if extra is not None:
            info = tarfile.TarInfo(extra[0])
            info.size = len(extra[1])
            tar.addfile(info, io.BytesIO(extra[1]))
    return buffer.getvalue()


def test_a_maintainer_imports_a_packed_folder_in_the_admin(
    store: Path, tmp_path: Path, admin_client: Any
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    folder = make_benchmark_folder(tmp_path / "bench")
    listing = admin_client.get("/admin/evaluation/benchmark/")
    assert "/admin/evaluation/benchmark/import/" in listing.content.decode()

    hostile = _tarball(folder, extra=("my-benchmark/../../escape.txt", b"x"))
    refused = admin_client.post(
        "/admin/evaluation/benchmark/import/",
        {"archive": SimpleUploadedFile("b.tar.gz", hostile)},
    )
    assert refused.status_code == 200
    assert "the archive was refused" in refused.content.decode()
    assert not Benchmark.objects.filter(slug="secret-text").exists()

    upload = SimpleUploadedFile("bench.tar.gz", _tarball(folder))
    response = admin_client.post("/admin/evaluation/benchmark/import/", {"archive": upload})
    benchmark = Benchmark.objects.get(slug="secret-text")
    assert response.status_code == 302
    assert response["Location"].endswith(f"/admin/evaluation/benchmark/{benchmark.pk}/change/")
    assert len(benchmark.definition["data"]["train"]) == 2


def test_maintainers_import_a_packed_folder_through_the_api(store: Path, tmp_path: Path) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    folder = make_benchmark_folder(tmp_path / "bench")
    packed = _tarball(folder)

    def post(client: APIClient, **extra: Any) -> Any:
        upload = SimpleUploadedFile("bench.tar.gz", packed)
        return client.post(
            "/api/benchmarks/import/", {"archive": upload, **extra}, format="multipart"
        )

    assert post(APIClient()).status_code == 401
    someone = APIClient()
    someone.force_authenticate(User.objects.create_user("someone"))
    assert post(someone).status_code == 403
    maintainer = APIClient()
    maintainer.force_authenticate(User.objects.create_user("maint", is_staff=True))
    created = post(maintainer)
    assert created.status_code == 201 and created.json()["slug"] == "secret-text"
    again = post(maintainer)
    assert again.status_code == 400 and "pass --update" in str(again.json()["archive"])
    assert post(maintainer, update="true").status_code == 200
    broken = maintainer.post(
        "/api/benchmarks/import/",
        {"archive": SimpleUploadedFile("x.tar.gz", b"not a tarball")},
        format="multipart",
    )
    assert broken.status_code == 400 and "not a readable tar archive" in str(broken.json())


@pytest.mark.parametrize("slug", ["demo-cpu", "gpu-small"])
def test_the_shipped_benchmarks_are_practice_folders_of_the_engines_corpus(slug: str) -> None:
    from django.conf import settings as django_settings

    from evaluation.engine import data
    from evaluation.engine.folders import load_folder

    folder = load_folder(django_settings.BASE_DIR / "evaluation" / "benchmarks" / slug)
    assert folder.slug == slug and folder.definition["practice"] is True
    assert folder.definition["spec"] == slug
    train, validation, test = data.splits(folder.spec())
    assert (train, validation) == data.corpus_split("shakespeare") and test is None


def test_the_demo_seed_imports_the_shipped_demo_folder(store: Path) -> None:
    """The demo benchmark, its model repository and folder (what /submit/ tells a
    contributor), two queued configs and one code upload waiting for approval."""
    ContributorFactory(login="ada-lovelace")
    ContributorFactory(login="alan-turing")
    model = RepositoryFactory(full_name="crucible-demo/tinygpt", role="model")
    call_command("seed_demo_benchmarks", stdout=StringIO())
    benchmark = Benchmark.objects.get(slug="demo-cpu")
    assert benchmark.practice and benchmark.queue == "cpu" and benchmark.seeds == 1
    assert benchmark.definition["data"]["validation"][0]["sha256"]
    assert benchmark.model_repository == model
    assert benchmark.submission_path == "submissions/demo-cpu"
    assert Submission.objects.filter(benchmark=benchmark, status="queued").count() == 2
    waiting = Submission.objects.get(benchmark=benchmark, status="pending_approval")
    assert waiting.source == "upload" and waiting.contributor.login == "alan-turing"
    call_command("seed_demo_benchmarks", stdout=StringIO())  # again: nothing more
    assert Submission.objects.filter(benchmark=benchmark).count() == 3
    client = Client()
    client.force_login(User.objects.create_user("newcomer"))
    page = client.get("/submit/?benchmark=demo-cpu").content.decode()
    assert "crucible-demo/tinygpt" in page and "submissions/demo-cpu/&lt;your-name&gt;/" in page
