"""Code by upload: a submission folder as a .zip or .tar.gz on /submit/ and through the API,
with the pull requests' archive rules, the same approval gate for untrusted code, the same
quota; the checked folder is what the worker gets."""

import io
import json
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from evaluation.models import Benchmark, Submission
from evaluation.services import submission_approve
from tests.factories import BenchmarkFactory
from tests.support.worker import ApiWorker

pytestmark = pytest.mark.django_db

MODEL = "def build_model(vocab_size, block_size, config):\n    return None\n"


@pytest.fixture
def benchmark(settings: Any, tmp_path: Path) -> Benchmark:
    settings.CRUCIBLE_DATA_DIR = tmp_path / "store"
    return BenchmarkFactory(
        slug="up", engine_spec="demo-cpu", queue="cpu", seeds=1, max_seeds=1, byte_budget=8192
    )


def zipped(files: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return out.getvalue()


def tarred(files: dict[str, str], *, link: tuple[str, str] | None = None) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for name, text in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            archive.addfile(info, io.BytesIO(text.encode()))
        if link is not None:
            info = tarfile.TarInfo(link[0])
            info.type, info.linkname = tarfile.SYMTYPE, link[1]
            archive.addfile(info)
    return out.getvalue()


def signed_in(login: str, *, staff: bool = False) -> APIClient:
    client = APIClient()
    client.force_login(User.objects.create_user(login, password="pw-long-enough-1", is_staff=staff))
    return client


def upload(client: APIClient, data: bytes, name: str = "change.zip") -> Any:
    return client.post(
        "/api/submissions/",
        {"benchmark": "up", "title": "uploaded", "archive": SimpleUploadedFile(name, data)},
        format="multipart",
    )


def test_an_upload_waits_for_approval_then_the_worker_gets_exactly_its_folder(
    benchmark: Benchmark,
) -> None:
    files = {"my-change/config.json": json.dumps({"lr": 0.002}), "my-change/model.py": MODEL}
    answer = upload(signed_in("mona"), zipped(files))
    assert answer.status_code == 201, answer.content
    submission = Submission.objects.get(pk=answer.json()["id"])
    assert submission.status == "pending_approval" and submission.source == "upload"
    assert submission.config == {"lr": 0.002}
    submission_approve(submission=submission, user=None)
    worker = ApiWorker()
    worker.claim(submission)
    packed = worker.client.get(f"/api/worker/jobs/{submission.pk}/files/").content
    with tarfile.open(fileobj=io.BytesIO(packed)) as archive:
        names = sorted(archive.getnames())
    assert names == ["submission/config.json", "submission/model.py"]


def test_a_maintainers_upload_runs_at_once_and_a_tarball_works_too(benchmark: Benchmark) -> None:
    files = {"config.json": "{}", "model.py": MODEL}
    answer = upload(signed_in("maint", staff=True), tarred(files), "change.tar.gz")
    assert answer.status_code == 201 and answer.json()["status"] == "queued"


@pytest.mark.parametrize(
    ("archive", "named"),
    [
        (zipped({}), "holds no files"),
        (zipped({"config.json": "[1]", "model.py": MODEL}), "must be a JSON object"),
        (zipped({"config.json": '{"lr": 9}', "model.py": MODEL}), "config.lr"),
        (zipped({"../evil.py": "x", "config.json": "{}"}), "'..' in a path"),
        (tarred({"config.json": "{}"}, link=("model.py", "/etc/passwd")), "absolute path"),
        (zipped({f"f{n}.py": "" for n in range(65)} | {"config.json": "{}"}), "more than 64"),
        (b"not an archive at all", "not a .zip or .tar.gz"),
    ],
)
def test_a_bad_upload_is_refused_with_the_reason_and_nothing_stored(
    benchmark: Benchmark, archive: bytes, named: str
) -> None:
    answer = upload(signed_in("mona"), archive)
    assert answer.status_code == 400
    assert named in json.dumps(answer.json())
    assert not Submission.objects.exists()


def test_the_submit_page_takes_an_upload(benchmark: Benchmark) -> None:
    client = Client()
    client.force_login(User.objects.create_user("ann", password="pw-long-enough-1"))
    page = client.get("/submit/?benchmark=up").content.decode()
    assert 'enctype="multipart/form-data"' in page and "curl -H" in page
    refused = client.post(
        "/submit/",
        {
            "benchmark": "up",
            "kind": "upload",
            "upload-archive": SimpleUploadedFile("x.zip", zipped({"config.json": "[1]"})),
        },
    )
    assert refused.status_code == 400 and "must be a JSON object" in refused.content.decode()
    done = client.post(
        "/submit/",
        {
            "benchmark": "up",
            "kind": "upload",
            "upload-title": "by hand",
            "upload-archive": SimpleUploadedFile(
                "x.zip", zipped({"config.json": "{}", "model.py": MODEL})
            ),
        },
    )
    submission = Submission.objects.get(title="by hand")
    assert done.status_code == 302 and done["Location"] == f"/submissions/{submission.pk}/"
    assert submission.status == "pending_approval"
