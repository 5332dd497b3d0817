"""The one place that reads the environment. Every variable is listed in the README."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# Run-time state of the embedded default (SQLite database, file-system Celery broker).
VAR_DIR = Path(env("CRUCIBLE_VAR_DIR", default=str(BASE_DIR / "var")))
