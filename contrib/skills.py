"""Skill growth: what a contributor works on, by area, and how far they have come in each.

An area is credited from the kind of a contribution, then from the paths a commit touched and
the labels of a merged pull request, so a commit to `train.py` grows *training* and a merged PR
labelled `evaluation` grows *evaluation*. Levels follow fixed milestones of credited
contributions.

A row's areas are classified once, when it is recorded (`Contribution.areas`), and counted in the
contributor's tallies (`ContributionTally`), so a profile never reads the ledger itself.
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from fnmatch import fnmatch
from typing import Any

from contrib.models import ContributionKind as K
from contrib.models import Contributor
from contrib.scores import contributor_tallies

# Stored as bit masks (`Contribution.areas`, `ContributionTally.areas`): bit i is AREAS[i], so
# append new areas at the end and never reorder or remove one without a data migration.
AREAS = ["model", "training", "evaluation", "docs", "infra", "community"]
AREA_BITS: dict[str, int] = {area: 1 << index for index, area in enumerate(AREAS)}
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


def areas_of(kind: str, metadata: Mapping[str, Any] | None) -> set[str]:
    """The areas one contribution grows: from its kind, else its PR labels and commit paths."""
    if kind in KIND_AREAS:
        return {KIND_AREAS[kind]}
    metadata = metadata or {}
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


def areas_mask(kind: str, metadata: Mapping[str, Any] | None) -> int:
    """`areas_of` as the bit mask stored on the ledger row (never 0: every row grows an area)."""
    mask = 0
    for area in areas_of(kind, metadata):
        mask |= AREA_BITS[area]
    return mask


def areas_in(mask: int) -> list[str]:
    """The areas of a stored bit mask, in `AREAS` order."""
    return [area for area in AREAS if mask & AREA_BITS[area]]


def contributor_skills(
    *, contributor: Contributor, tallies: Iterable[tuple[str, int, int]] | None = None
) -> list[dict[str, Any]]:
    """Per area: contributions credited, level reached, and progress to the next milestone.

    Read from the contributor's tallies (a few rows whatever the size of their ledger); pass
    `tallies` (`contributor_tallies`) when the caller already has them.
    """
    if tallies is None:
        tallies = contributor_tallies(contributor=contributor)
    credited: Counter[str] = Counter()
    for _kind, mask, count in tallies:
        for area in areas_in(mask):
            credited[area] += count
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
