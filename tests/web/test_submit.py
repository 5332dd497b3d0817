"""The submit page: a form from the benchmark's spec, errors next to their fields, posting
through `submission_create_config`."""

import html
import io
import json
import re
import tarfile
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from evaluation.engine.specs import SPECS
from evaluation.models import Submission
from evaluation.services.intake import submission_folders
from tests.factories import RepositoryFactory
from tests.web.conftest import Community

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(community: Community) -> User:
    return User.objects.create_user("member", password="pw")


def test_sign_in_required(client: Client, community: Community):
    response = client.get("/submit/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_form_has_every_key_with_label_default_and_range(
    client: Client, member: User, django_assert_max_num_queries: Any
):
    client.force_login(member)
    with django_assert_max_num_queries(8):
        response = client.get("/submit/?benchmark=demo-cpu")
    page = response.content.decode()
    assert response.status_code == 200
    for key, spec_field in SPECS["demo-cpu"].config_fields.items():
        assert f'<label for="id_{key}">{key}</label>' in page
        assert f'name="{key}"' in page
        if spec_field.maximum is not None:
            assert (
                f'max="{spec_field.maximum}"' in page or f'max="{int(spec_field.maximum)}"' in page
            )
    assert 'value="0.003"' in page or "lr" in page
    # No model repository: no pull requests, said so, and the reference folder to start from.
    assert "takes no pull requests" in page and "/benchmarks/demo-cpu/reference.tar.gz" in page


def test_the_pull_request_steps_name_the_folder_that_intake_takes(
    client: Client, member: User, community: Community
) -> None:
    """Followed literally, /submit/'s instructions give a folder the intake recognises."""
    benchmark = community.benchmark
    benchmark.model_repository = RepositoryFactory(full_name="acme/tinygpt", role="model")
    benchmark.submission_path = "/submissions/demo-cpu/"
    benchmark.save()
    client.force_login(member)
    page = client.get(f"/submit/?benchmark={benchmark.slug}").content.decode()
    assert "pull request" in page and "@crucible evaluate" in page
    assert 'href="https://github.com/acme/tinygpt"' in page
    folder = html.unescape(re.search(r"<code data-folder>([^<]+)</code>", page)[1])  # type: ignore[index]
    mine = folder.replace("<your-name>", "member")
    files = [{"filename": f"{mine}model.py", "status": "added"}]
    assert submission_folders(benchmark=benchmark, files=files) == [mine.rstrip("/")]
    reference = client.get(f"/benchmarks/{benchmark.slug}/reference.tar.gz")
    with tarfile.open(fileobj=io.BytesIO(reference.content)) as archive:
        names = sorted(archive.getnames())
        config = json.load(archive.extractfile(f"{benchmark.slug}-reference/config.json"))  # type: ignore[arg-type]
    assert names == [
        f"{benchmark.slug}-reference/config.json",
        f"{benchmark.slug}-reference/model.py",
    ]
    assert config["lr"] == SPECS["demo-cpu"].config_fields["lr"].default


def _valid(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"benchmark": "demo-cpu", "title": "Try a higher lr"}
    data.update({k: f.default for k, f in SPECS["demo-cpu"].config_fields.items()})
    data.update(changes)
    return data


def test_errors_shown_next_to_the_field(client: Client, member: User):
    client.force_login(member)
    response = client.post("/submit/", _valid(lr=5, n_layer="lots"))
    page = response.content.decode()
    assert response.status_code == 400
    assert Submission.objects.filter(title="Try a higher lr").count() == 0
    lr_field = page.split('<label for="id_lr">', 1)[1].split('<div class="field', 1)[0]
    assert 'class="errorlist"' in lr_field and "less than or equal to" in lr_field
    assert 'aria-invalid="true"' in lr_field
    layer_field = page.split('<label for="id_n_layer">', 1)[1].split('<div class="field', 1)[0]
    assert "Enter a whole number" in layer_field
    assert 'value="5"' in lr_field  # what they typed is kept


def test_valid_config_is_submitted_with_only_changed_keys(client: Client, member: User):
    client.force_login(member)
    response = client.post("/submit/", _valid(lr=0.006))
    submission = Submission.objects.get(title="Try a higher lr")
    assert response.status_code == 302 and response["Location"] == f"/submissions/{submission.pk}/"
    assert submission.config == {"lr": 0.006}
    assert submission.status == Submission.Status.QUEUED
    assert submission.contributor is not None and submission.contributor.user == member


def test_service_errors_land_on_the_form(client: Client, member: User, community: Community):
    community.benchmark.daily_quota = 0
    community.benchmark.save()
    client.force_login(member)
    response = client.post("/submit/", _valid(lr=0.006))
    assert response.status_code == 400
    assert "daily quota reached" in response.content.decode()


def test_empty_fields_mean_the_default(client: Client, member: User):
    client.force_login(member)
    response = client.post(
        "/submit/", {"benchmark": "demo-cpu", "title": "Only warmup", "warmup_frac": "0.2"}
    )
    assert response.status_code == 302
    assert Submission.objects.get(title="Only warmup").config == {"warmup_frac": 0.2}
