"""Cancel, approve and re-run buttons: shown to and accepted from the people allowed only,
always through the services, with CSRF."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from evaluation.models import Submission
from tests.web.conftest import Community

pytestmark = pytest.mark.django_db
Status = Submission.Status


def buttons(client: Client, submission: Submission) -> str:
    page = client.get(f"/submissions/{submission.pk}/").content.decode()
    return page.split('<main id="main">', 1)[1]


def test_owner_may_cancel_their_waiting_submission_but_not_approve(
    client: Client, community: Community, owner: User
):
    submission = community.pr_submission
    client.force_login(owner)
    page = buttons(client, submission)
    assert f'action="/submissions/{submission.pk}/cancel/"' in page
    assert "/approve/" not in page and "/rerun/" not in page
    assert client.post(f"/submissions/{submission.pk}/approve/").status_code == 403
    response = client.post(f"/submissions/{submission.pk}/cancel/", follow=True)
    assert response.redirect_chain[-1][0] == f"/submissions/{submission.pk}/"
    submission.refresh_from_db()
    assert submission.status == Status.CANCELLED
    assert "cancelled by star" in submission.reason


def test_staff_approves_then_reruns(client: Client, community: Community, staff: User):
    submission = community.pr_submission
    client.force_login(staff)
    page = buttons(client, submission)
    assert "/approve/" in page and "/cancel/" in page
    client.post(f"/submissions/{submission.pk}/approve/")
    submission.refresh_from_db()
    assert submission.status == Status.QUEUED and submission.approved_by == staff

    finished = community.scored[3]
    assert "/rerun/" in buttons(client, finished)
    client.post(f"/submissions/{finished.pk}/rerun/")
    finished.refresh_from_db()
    # A new attempt: the first one's runs and its result stay (tests/evaluation/test_history.py).
    assert finished.status == Status.QUEUED and finished.attempt == 2
    assert finished.runs.filter(attempt=1).count() == 2 and finished.result_attempt == 1


def test_strangers_and_anonymous_get_no_buttons_and_are_refused(
    client: Client, community: Community
):
    submission = community.pr_submission
    assert "<form" not in buttons(client, submission)
    assert client.post(f"/submissions/{submission.pk}/cancel/").status_code == 403
    stranger = User.objects.create_user("stranger")
    client.force_login(stranger)
    assert "<form" not in buttons(client, submission)
    assert client.post(f"/submissions/{submission.pk}/cancel/").status_code == 403
    assert client.get(f"/submissions/{submission.pk}/cancel/").status_code == 405
    submission.refresh_from_db()
    assert submission.status == Status.PENDING_APPROVAL


def test_buttons_need_csrf(community: Community, staff: User):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    submission = community.pr_submission
    assert client.post(f"/submissions/{submission.pk}/approve/").status_code == 403
    page = client.get(f"/submissions/{submission.pk}/").content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    response = client.post(f"/submissions/{submission.pk}/approve/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    submission.refresh_from_db()
    assert submission.status == Status.QUEUED


def test_unknown_action_is_404(client: Client, community: Community, staff: User):
    client.force_login(staff)
    assert client.post(f"/submissions/{community.pr_submission.pk}/delete/").status_code == 404
    assert client.post("/submissions/999999/cancel/").status_code == 404


def test_submission_page_queries_are_bounded_for_staff(
    client: Client, community: Community, staff: User, django_assert_max_num_queries: Any
):
    client.force_login(staff)
    with django_assert_max_num_queries(12):
        assert client.get(f"/submissions/{community.scored[0].pk}/").status_code == 200


def test_an_action_its_state_refuses_is_said_on_the_submission_page(
    client: Client, community: Community, staff: User
):
    """The service's refusal (a domain error) comes back as a message where the person was."""
    submission = community.scored[0]
    # Queued again for extra seeds of the result it shows (a record test): not to be cancelled.
    Submission.objects.filter(pk=submission.pk).update(status=Status.QUEUED)
    client.force_login(staff)
    response = client.post(f"/submissions/{submission.pk}/cancel/", follow=True)
    assert response.redirect_chain == [(f"/submissions/{submission.pk}/", 302)]
    assert "is adding seeds to the result it shows" in response.content.decode()
    submission.refresh_from_db()
    assert submission.status == Status.QUEUED
