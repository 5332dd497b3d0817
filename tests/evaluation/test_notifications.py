"""A finished submission's author is told: by e-mail where their account has an address, and in
their private Atom feed (the pull request's comment is tested with the pull requests)."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client

from evaluation.feeds import feed_url
from evaluation.models import Benchmark, Submission
from tests.factories import BenchmarkFactory
from tests.support.worker import ApiWorker, queued_config

pytestmark = pytest.mark.django_db


@pytest.fixture
def benchmark() -> Benchmark:
    return BenchmarkFactory(
        slug="note", engine_spec="demo-cpu", queue="cpu", seeds=1, max_seeds=1, byte_budget=8192
    )


def authored(benchmark: Benchmark, login: str, email: str) -> tuple[Submission, User]:
    submission = queued_config(benchmark, login=login)
    user = User.objects.create_user(login, email=email, password="pw-long-enough-1")
    contributor = submission.contributor
    assert contributor is not None
    contributor.user = user
    contributor.save()
    return submission, user


def test_the_author_is_emailed_when_it_is_scored_cut_short_or_failed(
    benchmark: Benchmark, django_capture_on_commit_callbacks: Any
) -> None:
    worker = ApiWorker()
    scored, _mona = authored(benchmark, "mona", "mona@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        assert worker.evaluate(scored, {0: 2.75}) == "scored"
    failed = queued_config(benchmark, login="mona")
    with django_capture_on_commit_callbacks(execute=True):
        worker.claim(failed)
        worker.seed(failed, failed=True)
    cut = queued_config(benchmark, login="mona")
    with django_capture_on_commit_callbacks(execute=True):
        worker.claim(cut)
        worker.seed(cut, trained=256, rate=50.0)
    silent = queued_config(benchmark, login="nobody")  # no account, no address: no mail
    with django_capture_on_commit_callbacks(execute=True):
        worker.evaluate(silent, {0: 2.8})
    assert [message.to for message in mail.outbox] == [["mona@example.org"]] * 3
    first, second, third = mail.outbox
    assert first.subject == f"[Crucible] #{scored.pk} on note: scored, val 2.750 bpb, rank #1"
    assert f"/submissions/{scored.pk}/" in first.body.splitlines()[-1]  # PLATFORM_URL
    assert second.subject == f"[Crucible] #{failed.pk} on note: failed"
    assert "Why: seed 0: RuntimeError: boom" in second.body
    assert third.subject == f"[Crucible] #{cut.pk} on note: incomplete: cut short"
    assert "the model trained at 50 bytes/s" in third.body


def test_each_person_has_a_private_feed_of_their_finished_submissions(
    benchmark: Benchmark, django_capture_on_commit_callbacks: Any
) -> None:
    worker = ApiWorker()
    mine, mona = authored(benchmark, "mona", "")
    theirs, _ann = authored(benchmark, "ann", "")
    waiting = queued_config(benchmark, login="mona")
    with django_capture_on_commit_callbacks(execute=True):
        worker.evaluate(mine, {0: 2.75})
        worker.evaluate(theirs, {0: 2.8})
    feed = Client().get(feed_url(mona))
    assert feed.status_code == 200 and feed["Content-Type"].startswith("application/atom+xml")
    body = feed.content.decode()
    assert f"#{mine.pk} on note: scored" in body and f"/submissions/{mine.pk}/" in body
    assert f"/submissions/{theirs.pk}/" not in body  # only one's own
    assert f"/submissions/{waiting.pk}/" not in body  # only finished ones
    key = feed_url(mona).split("/")[2]
    assert Client().get(f"/feeds/{key[:-2]}xx/submissions.atom").status_code == 404
    client = Client()
    assert feed_url(mona) not in client.get("/submissions/").content.decode()  # anonymous
    client.force_login(mona)
    assert feed_url(mona) in client.get("/submissions/").content.decode()
