"""Development on one machine: the embedded default of `make run`."""

from config.env import env
from config.settings.base import *  # noqa: F403

DEBUG = env.bool("DEBUG", default=True)
# Development only: production refuses to start without SECRET_KEY from the environment.
SECRET_KEY = env("SECRET_KEY", default="crucible-local-development-key-not-for-production")
