"""contrib's admin, one module per topic; importing this package registers them all."""

from contrib.admin import base, docs, github, honours, people, rewards  # noqa: F401
