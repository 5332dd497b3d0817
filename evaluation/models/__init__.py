"""Benchmarks, submissions, evaluation runs, workers and the precomputed leaderboard, one module
per topic; import them from here (`from evaluation.models import Submission`).

Writes go through `evaluation.services`; status changes only through `submission_transition`,
which enforces `Submission.ALLOWED_TRANSITIONS`.
"""

from evaluation.models.benchmarks import Benchmark
from evaluation.models.leaderboard import LeaderboardEntry
from evaluation.models.submissions import EvaluationRun, Submission
from evaluation.models.workers import Worker

__all__ = ["Benchmark", "EvaluationRun", "LeaderboardEntry", "Submission", "Worker"]
