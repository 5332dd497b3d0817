"""Production settings plus one bare view, so both run on the same gunicorn in the same run."""

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "benchmarks.bench_urls"
