"""Business actions of evaluation, one module per topic; every caller (pages, API, admin, tasks,
webhook handlers, commands) goes through these functions.

- `transitions`: the submission state machine and queueing;
- `submissions`: creating submissions, the quota, cancel / approve / re-run;
- `publish`: the commit status and the pull-request comment;
- `runs`: a submission's seeds, finishing or failing it (or cutting it short), requeueing it;
  `files`: its files for the worker; `reaper`: runs and jobs a dead worker or broker left;
- `records`: whether a result is a new record (significance), and its interval;
- `workers`: worker tokens; `jobs`: the worker API's calls (claim, runs, results); `results`:
  what a worker may report for a seed, checked before it is stored;
- `leaderboard`: the leaderboard rows;
- `benchmarks`: benchmarks and their baselines.

The names below are the app's service API; import them from here. Its domain errors are in
`evaluation.errors`.
"""

from evaluation.errors import JobRefusedError, TransitionError
from evaluation.services.benchmarks import (
    ImportOutcome,
    benchmark_get_or_create,
    benchmark_import,
    benchmark_import_archive,
    benchmark_reveal_test,
)
from evaluation.services.files import FetchError, submission_materialize
from evaluation.services.jobs import (
    job_claim,
    job_data,
    job_fail,
    job_files,
    job_finish,
    run_heartbeat,
    run_record,
    run_start,
)
from evaluation.services.leaderboard import leaderboard_recompute
from evaluation.services.publish import submission_publish, submission_summary, submission_url
from evaluation.services.reaper import runs_reap_stale
from evaluation.services.runs import submission_fail, submission_finish
from evaluation.services.submissions import (
    submission_approve,
    submission_cancel,
    submission_check_quota,
    submission_create_config,
    submission_create_upload,
    submission_hold,
    submission_prioritise,
    submission_rerun,
    submitter_terms,
)
from evaluation.services.transitions import enqueue, submission_transition
from evaluation.services.workers import (
    worker_authenticate,
    worker_broker_acl,
    worker_calibrate,
    worker_create,
    worker_hello,
    worker_revoke,
    worker_rotate,
)

__all__ = [
    "FetchError",
    "ImportOutcome",
    "JobRefusedError",
    "TransitionError",
    "benchmark_get_or_create",
    "benchmark_import",
    "benchmark_import_archive",
    "benchmark_reveal_test",
    "enqueue",
    "job_claim",
    "job_data",
    "job_fail",
    "job_files",
    "job_finish",
    "leaderboard_recompute",
    "run_heartbeat",
    "run_record",
    "run_start",
    "runs_reap_stale",
    "submission_approve",
    "submission_cancel",
    "submission_check_quota",
    "submission_create_config",
    "submission_create_upload",
    "submission_fail",
    "submission_finish",
    "submission_hold",
    "submission_materialize",
    "submission_prioritise",
    "submission_publish",
    "submission_rerun",
    "submission_summary",
    "submission_transition",
    "submission_url",
    "submitter_terms",
    "worker_authenticate",
    "worker_broker_acl",
    "worker_calibrate",
    "worker_create",
    "worker_hello",
    "worker_revoke",
    "worker_rotate",
]
