"""A newcomer follows /submit/'s pull-request steps literally, in the browser, against the
local GitHub-compatible server: the folder the page names, with their name where it says and
only a model.py in it, is the folder the intake makes a submission of."""

import json
import time
import urllib.request
from typing import Any

import pytest
from playwright.sync_api import expect

from contrib.models import Repository
from evaluation.models import Submission
from evaluation.services import benchmark_get_or_create
from tests.browser.conftest import MODEL_REPO, Site
from tests.browser.test_flows import sign_in_with_github
from tests.conftest import signed_headers

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def deliver(site: Site, event: str, payload: dict[str, Any], delivery: str) -> int:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", **signed_headers(body, event=event,
               delivery_id=delivery)}  # fmt: skip
    request = urllib.request.Request(
        f"{site.url}/webhooks/github/", data=body, method="POST", headers=headers
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return int(answer.status)


def test_the_pull_request_steps_on_submit_lead_to_a_submission(site: Site, page: Any) -> None:
    benchmark = benchmark_get_or_create(
        slug="demo-cpu", engine_spec="demo-cpu", queue="cpu", seeds=1, byte_budget=8192
    )
    benchmark.model_repository = Repository.objects.get(full_name=MODEL_REPO)
    benchmark.submission_path = "submissions/demo-cpu"
    benchmark.save()
    sign_in_with_github(page, site, "newcomer", user_id=5151)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Submit").click()
    expect(page.get_by_role("link", name=MODEL_REPO)).to_be_visible()  # "Fork …"
    folder = page.locator("code[data-folder]").inner_text()
    assert "<your-name>" in folder
    mine = folder.replace("<your-name>", "newcomer")

    # What the steps say: fork, add the folder with a model.py, open a pull request.
    pull = site.github.pull(MODEL_REPO, user="newcomer", title="My first change")
    site.github.set_pull_files(MODEL_REPO, pull["number"], {f"{mine}model.py": "added"})
    repo = site.github.repos[MODEL_REPO].repo
    payload = {
        "action": "opened",
        "number": pull["number"],
        "pull_request": pull,
        "repository": repo,
        "sender": pull["user"],
    }
    assert deliver(site, "pull_request", payload, "contributing-1") == 202
    deadline = time.monotonic() + 60
    while not Submission.objects.filter(pr_number=pull["number"]).exists():
        assert time.monotonic() < deadline, "the pull request made no submission"
        time.sleep(0.5)
    submission = Submission.objects.get(pr_number=pull["number"])
    assert submission.folder == mine.rstrip("/") == "submissions/demo-cpu/newcomer"
    # A newcomer's code waits for a maintainer before it runs.
    assert submission.status == "pending_approval"
    page.goto(f"{site.url}/submissions/{submission.pk}/")
    expect(page.locator("span.status").first).to_have_text("Waiting for a maintainer's approval")
