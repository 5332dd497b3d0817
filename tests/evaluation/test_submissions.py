"""Submissions: the state machine, config validation, quotas, approval, the reaper."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from evaluation.models import Benchmark, EvaluationRun, Submission
from evaluation.services import (
    TransitionError,
    benchmark_get_or_create,
    runs_reap_stale,
    submission_transition,
)
from tests.factories import ContributorFactory, EvaluationRunFactory, SubmissionFactory
from tests.support.worker import evaluate_now

pytestmark = pytest.mark.django_db
Status = Submission.Status


@pytest.fixture
def benchmark() -> Benchmark:
    # Not practice, as if its held-out text were private: records are awarded.
    return benchmark_get_or_create(
        slug="demo", engine_spec="demo-cpu", queue="cpu", seeds=1, byte_budget=4096, practice=False
    )


def test_every_disallowed_transition_is_refused(benchmark: Benchmark) -> None:
    submission = SubmissionFactory(benchmark=benchmark, source="config")
    for start, allowed in Submission.ALLOWED_TRANSITIONS.items():
        for target in Status.values:
            submission.status = start
            if target in allowed:
                submission_transition(submission=submission, to=target, save=False)
            else:
                with pytest.raises(TransitionError, match=f"from {start} to {target}"):
                    submission_transition(submission=submission, to=target, save=False)


def test_config_errors_name_the_field_and_anonymous_cannot_submit(benchmark: Benchmark) -> None:
    api = APIClient()
    body = {"benchmark": "demo", "config": {"lr": 0.003}}
    assert api.post("/api/submissions/", body, format="json").status_code in (401, 403)

    api.force_authenticate(User.objects.create_user("mona", password="pw-123456789"))
    bad = api.post(
        "/api/submissions/",
        {"benchmark": "demo", "config": {"lr": 5, "n_layers": 3}},
        format="json",
    )
    assert bad.status_code == 400
    errors = bad.json()
    assert "config.lr" in errors and "config.n_layers" in errors
    assert "n_layer" in " ".join(errors["config.n_layers"])  # tells the allowed keys

    ok = api.post("/api/submissions/", body, format="json")
    assert ok.status_code == 201, ok.content
    assert ok.json()["status"] == "queued"
    assert api.get(f"/api/submissions/{ok.json()['id']}/").json()["config"] == {"lr": 0.003}


def test_daily_quota_and_cancellations_not_counting(benchmark: Benchmark) -> None:
    benchmark.daily_quota = 2
    benchmark.save()
    api = APIClient()
    api.force_authenticate(User.objects.create_user("mona", password="pw-123456789"))
    body = {"benchmark": "demo", "config": {}}
    first = api.post("/api/submissions/", body, format="json").json()["id"]
    assert api.post("/api/submissions/", body, format="json").status_code == 201
    over = api.post("/api/submissions/", body, format="json")
    assert over.status_code == 400 and "quota" in over.json()["benchmark"][0]
    assert api.post(f"/api/submissions/{first}/cancel/").status_code == 200
    assert api.post("/api/submissions/", body, format="json").status_code == 201


def test_only_maintainers_approve_and_only_owners_cancel(benchmark: Benchmark) -> None:
    owner = User.objects.create_user("owner", password="pw-123456789")
    ContributorFactory(login="owner", user=owner)
    waiting = SubmissionFactory(
        benchmark=benchmark,
        source="pull_request",
        status=Status.PENDING_APPROVAL,
        contributor=owner.contributor,
    )
    api = APIClient()
    api.force_authenticate(User.objects.create_user("stranger", password="pw-123456789"))
    assert api.post(f"/api/submissions/{waiting.pk}/approve/").status_code == 403
    assert api.post(f"/api/submissions/{waiting.pk}/cancel/").status_code == 403
    api.force_authenticate(User.objects.create_superuser("boss", password="pw-123456789"))
    approved = api.post(f"/api/submissions/{waiting.pk}/approve/")
    assert approved.status_code == 200 and approved.json()["status"] == "queued"
    again = api.post(f"/api/submissions/{waiting.pk}/approve/")
    assert again.status_code == 400 and "not waiting for approval" in str(again.json())


def test_a_submission_that_cannot_be_fetched_fails_with_its_reason(benchmark: Benchmark) -> None:
    submission = SubmissionFactory(benchmark=benchmark, source="pull_request", status=Status.QUEUED)
    assert evaluate_now(submission.pk) == "failed"
    submission.refresh_from_db()
    assert "could not fetch the submission" in submission.reason
    assert submission.runs.get().status == "failed"


def test_reaper_requeues_once_then_fails_with_worker_lost(benchmark: Benchmark) -> None:
    submission = SubmissionFactory(benchmark=benchmark, source="config", status=Status.RUNNING)
    old = timezone.now() - timedelta(minutes=10)
    run = EvaluationRunFactory(
        submission=submission,
        seed=0,
        status="running",
        attempts=1,
        heartbeat_at=old,
        worker_host="gpu-7",
    )
    assert runs_reap_stale() == {"requeued": 1, "failed": 0, "redispatched": 0, "decided": 0}
    submission.refresh_from_db()
    run.refresh_from_db()
    assert submission.status == "queued" and run.status == "queued"
    assert "worker lost on gpu-7" in run.error

    Submission.objects.filter(pk=submission.pk).update(status=Status.RUNNING)
    EvaluationRun.objects.filter(pk=run.pk).update(status="running", attempts=2, heartbeat_at=old)
    assert runs_reap_stale() == {"requeued": 0, "failed": 1, "redispatched": 0, "decided": 0}
    submission.refresh_from_db()
    assert submission.status == "failed" and "worker lost" in submission.reason
    assert not submission.counts_for_quota  # the platform's fault, not the contributor's
    fresh = timezone.now()
    EvaluationRun.objects.filter(pk=run.pk).update(status="running", heartbeat_at=fresh)
    assert runs_reap_stale() == {"requeued": 0, "failed": 0, "redispatched": 0, "decided": 0}


def test_a_record_earns_the_record_holder_badge_once_per_benchmark(benchmark: Benchmark) -> None:
    from contrib.models import Award
    from evaluation.services import submission_finish

    mona = ContributorFactory(login="mona")
    baseline = Submission.objects.get(pk=benchmark.baseline_id)
    Submission.objects.filter(pk=baseline.pk).update(
        status=Status.SCORED, mean_val_bpb=3.0, result_attempt=1
    )
    for seed, value in enumerate((3.0, 3.01, 2.99)):
        EvaluationRunFactory(submission=baseline, seed=seed, status="ok", val_bits_per_byte=value)

    def scored(value: float) -> Submission:
        """Three seeds around `value`: tight enough that a clear gain is significant."""
        submission = SubmissionFactory(
            benchmark=benchmark, source="config", status=Status.RUNNING, contributor=mona
        )
        for seed, noise in enumerate((0.0, 0.01, -0.01)):
            EvaluationRunFactory(
                submission=submission, seed=seed, status="ok", val_bits_per_byte=value + noise
            )
        assert submission_finish(submission_id=submission.pk) == "scored"
        submission.refresh_from_db()
        return submission

    assert scored(2.9).is_record
    assert not scored(2.95).is_record  # worse than the record it must beat
    assert scored(2.8).is_record
    awards = Award.objects.filter(badge__slug="leaderboard-record", contributor=mona)
    assert awards.count() == 1 and awards.get().period_key == "demo"


def test_evaluation_points_need_a_complete_run_that_beats_the_baseline(
    benchmark: Benchmark,
) -> None:
    """Five configs a day earned five contributions whatever they scored; now a complete run
    that beats the baseline and its author's own best earns its own, anything else one per
    benchmark and week (a run cut short earns nothing: test_complete_runs.py)."""
    from contrib.models import Contribution
    from evaluation.services import submission_finish

    mona = ContributorFactory(login="mona")
    Submission.objects.filter(pk=benchmark.baseline_id).update(
        status=Status.SCORED, mean_val_bpb=3.0, result_attempt=1
    )

    def scored(value: float) -> None:
        submission = SubmissionFactory(
            benchmark=benchmark, source="config", status=Status.RUNNING, contributor=mona
        )
        EvaluationRunFactory(
            submission=submission,
            seed=0,
            status="ok",
            val_bits_per_byte=value,
        )
        assert submission_finish(submission_id=submission.pk) == "scored"

    for value in (3.4, 3.5, 3.1, 3.2, 3.3):  # five worse than the baseline, one week
        scored(value)
    assert Contribution.objects.filter(kind="evaluation", contributor=mona).count() == 1
    scored(2.9)
    scored(2.8)
    assert Contribution.objects.filter(kind="evaluation", contributor=mona).count() == 3
    # The same good config again (or a worse one) beats the baseline but not her own best: it
    # counts with the week's others, not on its own.
    scored(2.8)
    scored(2.85)
    assert Contribution.objects.filter(kind="evaluation", contributor=mona).count() == 3
    scored(2.7)  # better than before: progress, its own point
    assert Contribution.objects.filter(kind="evaluation", contributor=mona).count() == 4


def test_the_admin_makes_no_submission_of_its_own() -> None:
    """Every submission comes from `submission_create`; the admin only acts on them."""
    admin = APIClient()
    admin.force_login(User.objects.create_superuser("root-add", "r@example.org", "pw-long-1"))
    assert admin.get("/admin/evaluation/submission/add/").status_code == 403
    listing = admin.get("/admin/evaluation/submission/").content.decode()
    assert "/admin/evaluation/submission/add/" not in listing


def test_a_maintainer_holds_a_queued_submission_for_approval_in_the_admin(
    benchmark: Benchmark,
) -> None:
    """A maintainer parks a queued one to read its code first; approving queues it again."""
    queued = SubmissionFactory(benchmark=benchmark, status="queued", source="config", config={})
    running = SubmissionFactory(benchmark=benchmark, status="running", source="config", config={})
    admin = APIClient()
    admin.force_login(User.objects.create_superuser("root-hold", "r@example.org", "pw-long-1"))
    answer = admin.post(
        "/admin/evaluation/submission/",
        {"action": "hold", "_selected_action": [queued.pk, running.pk]},
        follow=True,
    )
    page = answer.content.decode()
    assert "1 submissions held for approval." in page
    assert "only a queued one can be held for approval" in page
    queued.refresh_from_db()
    assert queued.status == "pending_approval" and "held" in queued.reason
    answer = admin.post(f"/api/submissions/{queued.pk}/approve/")
    assert answer.status_code == 200 and answer.json()["status"] == "queued"
