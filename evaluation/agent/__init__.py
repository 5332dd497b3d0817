"""The evaluation worker ("agent"): what runs on a GPU (or CPU) machine that trains and scores
submissions. It holds no platform secrets: no database, no `SECRET_KEY`, no GitHub credentials.
It takes jobs from its queues on the broker (Celery over Redis), and fetches a job's details,
the submission's files and the benchmark's data from the platform over HTTP(S) with a worker
token, sending heartbeats and results back the same way (`evaluation/api/workers.py`).

Started with `python -m evaluation.agent` (README, "Add a GPU worker"). Nothing here imports
Django: a worker host runs the project's code, not the site.
"""

EVALUATE_TASK = "evaluation.evaluate_submission"  # the platform sends it; only agents run it
# Every broker key of evaluation jobs starts with this (kombu's `global_keyprefix`): a worker's
# Redis account reaches these keys only, never the queues of the platform's own tasks
# (README, "What a worker host can reach").
EVALUATION_KEY_PREFIX = "crucible-eval:"


def broker_options(broker_url: str, var_dir: str, *, key_prefix: str = "") -> dict[str, object]:
    """Kombu's transport options for the broker, the same for the platform's own tasks
    (`config/settings/base.py`) and for evaluation jobs (`key_prefix`: theirs, on Redis)."""
    if broker_url.startswith("filesystem://"):  # the embedded default: folders under var/
        return {
            "data_folder_in": f"{var_dir}/celery/broker",
            "data_folder_out": f"{var_dir}/celery/broker",
            "control_folder": f"{var_dir}/celery/control",
            "store_processed": False,
        }
    # acks_late: a message must not be redelivered while a long evaluation still runs.
    options: dict[str, object] = {"visibility_timeout": 6 * 3600}
    if key_prefix:
        options["global_keyprefix"] = key_prefix
    return options
