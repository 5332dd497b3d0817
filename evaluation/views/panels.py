"""The sections evaluation adds to contrib's dashboard, profile and Contributing doc pages
(registered in `EvaluationConfig.ready`)."""

from typing import Any

from contrib.models import Contributor
from evaluation.contributing import contribution_guide
from evaluation.selectors import (
    benchmarks_open,
    contributor_submissions,
    evaluations_in_flight,
    records_latest,
)


def dashboard_panel() -> dict[str, Any]:
    return {
        "in_flight": evaluations_in_flight(),
        "records": list(records_latest()),
        "benchmarks": list(benchmarks_open()),
    }


def profile_panel(*, contributor: Contributor) -> dict[str, Any]:
    return contributor_submissions(contributor=contributor)


def contributing_panel(*, doc: Any) -> dict[str, Any]:
    """On the Contributing doc: how to submit to each open benchmark, from the benchmark."""
    if getattr(doc, "slug", "") != "contributing":
        return {}
    return {"guides": [contribution_guide(b) for b in benchmarks_open()]}
