"""Business actions of evaluation, one module per topic; every caller (pages, API, admin, tasks,
webhook handlers, commands) goes through these functions.

- `transitions`: the submission state machine and queueing;
- `submissions`: creating submissions, the quota, cancel / approve / re-run;
- `publish`: the commit status and the pull-request comment;
- `engine_process`: running the engine as a supervised subprocess;
- `runs`: the worker's job (fetch, train and score each seed, finish or fail, reap);
- `leaderboard`: the leaderboard rows;
- `benchmarks`: benchmarks and their baselines.

The names below are the app's service API; import them from here.
"""

from evaluation.services.benchmarks import (
    ImportOutcome,
    benchmark_get_or_create,
    benchmark_import,
    benchmark_import_archive,
    benchmark_reveal_test,
    benchmark_spec,
)
from evaluation.services.engine_process import EngineResult, engine_run
from evaluation.services.leaderboard import leaderboard_recompute
from evaluation.services.publish import submission_publish, submission_summary, submission_url
from evaluation.services.runs import (
    FetchError,
    runs_reap_stale,
    submission_evaluate,
    submission_finish,
    submission_materialize,
)
from evaluation.services.submissions import (
    submission_approve,
    submission_cancel,
    submission_check_quota,
    submission_create_config,
    submission_rerun,
)
from evaluation.services.transitions import TransitionError, enqueue, submission_transition

__all__ = [
    "EngineResult",
    "FetchError",
    "ImportOutcome",
    "TransitionError",
    "benchmark_get_or_create",
    "benchmark_import",
    "benchmark_import_archive",
    "benchmark_reveal_test",
    "benchmark_spec",
    "engine_run",
    "enqueue",
    "leaderboard_recompute",
    "runs_reap_stale",
    "submission_approve",
    "submission_cancel",
    "submission_check_quota",
    "submission_create_config",
    "submission_evaluate",
    "submission_finish",
    "submission_materialize",
    "submission_publish",
    "submission_rerun",
    "submission_summary",
    "submission_transition",
    "submission_url",
]
