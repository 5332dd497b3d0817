"""The test suite: local settings, fast hashing, tasks run inline unless a test starts a worker."""

from config.settings.local import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
GITHUB_WEBHOOK_SECRET = "test-webhook-secret"  # noqa: S105 - a fixed value for signed test deliveries
# No collectstatic before tests: serve names as they are.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Evaluation jobs that tests queue go nowhere unless a test starts a worker on its own broker
# (never into the embedded default's folder, where `make run`'s worker would find them).
CELERY_BROKER_URL = "memory://"
