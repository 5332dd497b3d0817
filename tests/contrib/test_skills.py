"""Skill growth from kinds, paths and labels; the profile endpoint in bounded queries."""

import pytest
from rest_framework.test import APIClient

from contrib.badges import badges_evaluate
from contrib.skills import contributor_skills
from tests.factories import ContributionFactory, ContributorFactory

pytestmark = pytest.mark.django_db


def test_areas_levels_and_progress() -> None:
    mona = ContributorFactory(login="mona")
    for _ in range(5):
        ContributionFactory(contributor=mona, kind="code", metadata={"paths": ["src/train.py"]})
    ContributionFactory(contributor=mona, kind="code", metadata={"labels": ["evaluation"]})
    ContributionFactory(contributor=mona, kind="code", metadata={"paths": ["model/attn.py"]})
    ContributionFactory(contributor=mona, kind="review")
    ContributionFactory(contributor=mona, kind="doc")
    skills = {s["area"]: s for s in contributor_skills(contributor=mona)}
    # training: 5 commits = level 2 (milestones 1, 5, 15…), 0 of the 10 more to level 3.
    assert (skills["training"]["contributions"], skills["training"]["level"]) == (5, 2)
    assert (skills["training"]["next_milestone"], skills["training"]["progress"]) == (15, 0.0)
    assert skills["evaluation"]["level"] == 1 and skills["model"]["level"] == 1
    assert skills["community"]["contributions"] == 1 and skills["docs"]["contributions"] == 1
    assert (skills["infra"]["level"], skills["infra"]["progress"]) == (0, 0.0)


def test_profile_endpoint(django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    mona = ContributorFactory(login="mona")
    for _ in range(12):
        ContributionFactory(contributor=mona, kind="doc")
    badges_evaluate()
    with django_assert_max_num_queries(6):
        body = APIClient().get("/api/contributors/MONA/profile/").json()
    assert body["login"] == "mona" and body["counts"]["doc"] == 12
    assert {s["area"]: s["level"] for s in body["skills"]}["docs"] == 2
    assert {a["badge"]["slug"] for a in body["awards"]} == {"first-doc", "contributions-10"}
    assert APIClient().get("/api/contributors/nobody/profile/").status_code == 404
