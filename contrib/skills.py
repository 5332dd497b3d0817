"""Skill growth: what a contributor works on, by area, and how far they have come in each.

An area is credited from the kind of a contribution, then from the paths a commit touched and
the labels of a merged pull request, so a commit to `train.py` grows *training* and a merged PR
labelled `evaluation` grows *evaluation*. Levels follow fixed milestones of credited
contributions.
"""

from collections import Counter
from fnmatch import fnmatch
from typing import Any

from contrib.models import ContributionKind as K
from contrib.models import Contributor

AREAS = ["model", "training", "evaluation", "docs", "infra", "community"]
MILESTONES = [1, 5, 15, 40, 100, 250]
KIND_AREAS: dict[str, str] = {
    K.DOC: "docs",
    K.TRANSLATION: "docs",
    K.INFRA: "infra",
    K.TEST: "infra",
    K.MAINTENANCE: "infra",
    K.EVALUATION: "evaluation",
    K.REVIEW: "community",
    K.DISCUSSION: "community",
    K.QUESTION: "community",
    K.BUG: "community",
    K.MENTORING: "community",
    K.IDEAS: "community",
    K.SPONSORSHIP: "community",
}
PATH_AREAS = [
    ("evaluation", ["*eval*", "*bench*", "submissions/*"]),
    ("training", ["*train*", "*optim*", "*schedul*", "*data*"]),
    ("model", ["*model*", "*attention*", "*layer*", "*.cu"]),
    ("docs", ["docs/*", "*.md", "*.rst"]),
    ("infra", [".github/*", "*docker*", "Makefile", "*.yml", "*.yaml", "*.toml", "ci/*"]),
]
LABEL_AREAS = {
    "model": "model",
    "training": "training",
    "evaluation": "evaluation",
    "docs": "docs",
    "documentation": "docs",
    "infra": "infra",
    "ci": "infra",
}


def _areas_of(kind: str, metadata: dict[str, Any]) -> set[str]:
    if kind in KIND_AREAS:
        return {KIND_AREAS[kind]}
    areas = {
        LABEL_AREAS[label.lower()]
        for label in metadata.get("labels") or []
        if isinstance(label, str) and label.lower() in LABEL_AREAS
    }
    for path in metadata.get("paths") or []:
        for area, patterns in PATH_AREAS:
            if any(fnmatch(str(path).lower(), pattern) for pattern in patterns):
                areas.add(area)
                break
    return areas or {"model"}  # code with nothing more specific is work on the model


def contributor_skills(*, contributor: Contributor) -> list[dict[str, Any]]:
    """Per area: contributions credited, level reached, and progress to the next milestone."""
    credited: Counter[str] = Counter()
    for kind, metadata in contributor.contributions.values_list("kind", "metadata"):
        for area in _areas_of(kind, metadata or {}):
            credited[area] += 1
    skills = []
    for area in AREAS:
        count = credited[area]
        level = sum(1 for milestone in MILESTONES if count >= milestone)
        previous = MILESTONES[level - 1] if level else 0
        following = MILESTONES[level] if level < len(MILESTONES) else None
        progress = 1.0 if following is None else (count - previous) / (following - previous)
        skills.append(
            {
                "area": area,
                "contributions": count,
                "level": level,
                "next_milestone": following,
                "progress": round(progress, 3),
            }
        )
    return skills
