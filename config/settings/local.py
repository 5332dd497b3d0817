"""Development on one machine: the embedded default of `make run`."""

from config.env import env
from config.settings.base import *  # noqa: F403

# Off by default, so that the demo shows the site's own 404 and 500 pages; DEBUG=1 for Django's.
DEBUG = env.bool("DEBUG", default=False)
# Static files straight from the source folders, as they change (no collectstatic, no manifest).
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Development only: production refuses to start without SECRET_KEY from the environment.
SECRET_KEY = env("SECRET_KEY", default="crucible-local-development-key-not-for-production")
