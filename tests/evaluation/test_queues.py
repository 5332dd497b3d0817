"""Fair queues and knowing where you stand: a worker's claim takes the queue's next submission
in a fair order (maintainer priority, then round-robin by contributor, then the oldest), and
`/submissions/` and the API show each queued one's place and expected start."""

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from evaluation.models import Benchmark, Submission
from evaluation.services import submission_cancel, submission_prioritise
from tests.factories import BenchmarkFactory, SubmissionFactory
from tests.support.worker import ApiWorker, queued_config

pytestmark = pytest.mark.django_db


@pytest.fixture
def benchmark() -> Benchmark:
    return BenchmarkFactory(
        slug="fair", engine_spec="demo-cpu", queue="cpu", seeds=1, max_seeds=1, byte_budget=8192
    )


def queue_up(benchmark: Benchmark, *logins: str) -> list[Submission]:
    """Queued one after the other, a second apart, in this order."""
    start = timezone.now() - timedelta(hours=1)
    made = []
    for n, login in enumerate(logins):
        submission = queued_config(benchmark, login=login)
        Submission.objects.filter(pk=submission.pk).update(queued_at=start + timedelta(seconds=n))
        made.append(submission)
    return made


def test_one_persons_many_submissions_do_not_starve_anyone_elses(benchmark: Benchmark) -> None:
    mona = queue_up(benchmark, "mona", "mona", "mona", "mona")
    ann, bob = queue_up(benchmark, "ann", "bob")
    worker = ApiWorker()
    taken = []
    for _ in range(6):  # every message names mona's first: the platform picks
        job = worker.claim(mona[0])
        taken.append(job["submission"])
        worker.post(f"jobs/{job['submission']}/fail/", {"reason": "stop", "platform_fault": True})
    assert taken == [mona[0].pk, ann.pk, bob.pk, mona[1].pk, mona[2].pk, mona[3].pk]
    # Nothing left: a message for a submission no longer queued claims nothing.
    assert worker.post(f"jobs/{mona[0].pk}/claim/").json() == {"job": None}


def test_a_maintainers_priority_goes_first_and_a_cancelled_ones_message_is_not_lost(
    benchmark: Benchmark,
) -> None:
    first, second, third = queue_up(benchmark, "mona", "ann", "bob")
    submission_prioritise(submission=third)
    submission_cancel(submission=Submission.objects.get(pk=first.pk))
    worker = ApiWorker()
    assert worker.claim(first)["submission"] == third.pk  # the cancelled one's message
    assert worker.claim(second)["submission"] == second.pk


def test_the_submissions_page_and_api_show_each_queued_ones_place(benchmark: Benchmark) -> None:
    mona = queue_up(benchmark, "mona", "mona")
    ann = queue_up(benchmark, "ann")[0]
    # A job took 10 minutes on this queue, and one worker serves it.
    done = timezone.now() - timedelta(hours=2)
    SubmissionFactory(
        benchmark=benchmark,
        source="config",
        status="scored",
        started_at=done - timedelta(minutes=10),
        finished_at=done,
    )
    worker = ApiWorker()
    worker.post("hello/", {"host": "box"})
    page = Client().get("/submissions/?benchmark=fair&status=queued").content.decode()
    assert page.count('<span class="status status-queued">') == 3
    api = Client().get("/api/submissions/?benchmark__slug=fair&status=queued").json()
    listed = {row["id"]: row for row in api["results"]}
    assert [listed[s.pk]["queue_position"] for s in (mona[0], ann, mona[1])] == [1, 2, 3]
    third_start = listed[mona[1].pk]["estimated_start"]
    assert third_start is not None  # two jobs of ~10 minutes ahead of it, one worker
    from django.utils.dateparse import parse_datetime

    ahead = parse_datetime(third_start) - timezone.now()
    assert timedelta(minutes=19) < ahead <= timedelta(minutes=20)
    mine = Client().get("/api/submissions/?contributor__login=ann").json()["results"]
    assert [row["id"] for row in mine] == [ann.pk]
    filtered = Client().get("/submissions/?contributor=ann").content.decode()
    assert f"/submissions/{ann.pk}/" in filtered and f"/submissions/{mona[0].pk}/" not in filtered


def test_only_a_waiting_submission_can_be_put_first(benchmark: Benchmark) -> None:
    admin = User.objects.create_superuser("root", password="pw-long-enough-1")
    client = Client()
    client.force_login(admin)
    waiting, done = queue_up(benchmark, "mona", "ann")
    Submission.objects.filter(pk=done.pk).update(status="scored")
    client.post(
        "/admin/evaluation/submission/",
        {"action": "prioritise", "_selected_action": [waiting.pk, done.pk]},
    )
    assert Submission.objects.get(pk=waiting.pk).priority
    assert not Submission.objects.get(pk=done.pk).priority


def test_a_job_the_broker_lost_is_sent_again(
    benchmark: Benchmark, enqueued: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    """A broker restarted without persistence loses its messages: a submission queued (and last
    sent) longer ago than EVALUATION_REDISPATCH_AFTER is sent again by the reaper, once per
    period; one sent recently is left alone."""
    from evaluation.services import runs_reap_stale

    lost, fresh = queue_up(benchmark, "mona", "ann")
    long_ago = timezone.now() - timedelta(minutes=20)
    Submission.objects.filter(pk=lost.pk).update(dispatched_at=long_ago)
    Submission.objects.filter(pk=fresh.pk).update(dispatched_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        assert runs_reap_stale()["redispatched"] == 1
    assert enqueued == [lost.pk]
    with django_capture_on_commit_callbacks(execute=True):
        assert runs_reap_stale()["redispatched"] == 0  # sent just now
    assert enqueued == [lost.pk]
