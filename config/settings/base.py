"""Settings shared by every mode; each value that changes between machines comes from `env`."""

import os
from pathlib import Path

import django_stubs_ext
from csp.constants import NONE, SELF

from config.env import BASE_DIR, VAR_DIR, env
from evaluation.agent import broker_options

# Lets admin and other Django generics be subscripted for type checking (`ModelAdmin[Model]`).
django_stubs_ext.monkeypatch()

VAR_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = env("SECRET_KEY", default="")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.github",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our own static files, no CDN
    "axes",  # failed sign-ins counted per client address, on every sign-in surface
    "csp",
    "contrib",
    "evaluation",
    "accounts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "contrib.middleware.DomainErrorMiddleware",
    # Last: turns a locked-out sign-in into the "too many attempts" page (429).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions and a busy timeout let web, worker and beat share one SQLite file
    # without "database is locked" errors; WAL lets readers go on while one process writes.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file (not :memory:) so that a Celery worker process can share the test database.
    # Per process, so that two test runs on one checkout do not share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test_db_{os.getpid()}.sqlite3")}
# A connection kept for a minute, checked before reuse: opening one for each request (and its
# PRAGMAs on SQLite) was 40 % of a webhook intake's time in a gunicorn worker (py-spy,
# benchmarks/RESULTS.md); a request that does not touch the database never paid it.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Accounts: sign in with GitHub (django-allauth), local accounts for development ---------
AUTHENTICATION_BACKENDS = [
    # First: refuses any password check from a locked-out address (admin, allauth, API login).
    "accounts.throttling.ThrottlingBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"  # local accounts are for development and small setups
# Local sign-up (username + password); a production site usually signs people in with GitHub only.
ACCOUNT_ALLOW_SIGNUP = env.bool("ACCOUNT_ALLOW_SIGNUP", default=True)
# Failed sign-ins are counted per address by django-axes (below), on every sign-in surface.
# allauth's own per-login-name limit would let anyone lock a chosen person out (five wrong
# passwords for their name, from anywhere): only its per-address limit is kept.
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip"}
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_STORE_TOKENS = False  # we need who they are, not their GitHub token
# Mail (password resets of local accounts): printed to the console unless a server is given,
# e.g. smtp+tls://user:password@smtp.example.org:587
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS"))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="crucible@localhost")
GITHUB_OAUTH_CLIENT_ID = env("GITHUB_OAUTH_CLIENT_ID", default="")
GITHUB_OAUTH_CLIENT_SECRET = env("GITHUB_OAUTH_CLIENT_SECRET", default="")
# The web address of GitHub for the OAuth flow; set for GitHub Enterprise Server (its API is
# then `<url>/api/v3`) or a local GitHub-compatible server. Empty means github.com.
GITHUB_OAUTH_URL = env("GITHUB_OAUTH_URL", default="").rstrip("/")
SOCIALACCOUNT_PROVIDERS: dict[str, dict[str, object]] = {
    "github": {
        "SCOPE": ["read:user", "user:email"],
        "APPS": (
            [{"client_id": GITHUB_OAUTH_CLIENT_ID, "secret": GITHUB_OAUTH_CLIENT_SECRET}]
            if GITHUB_OAUTH_CLIENT_ID
            else []
        ),
        **({"GITHUB_URL": GITHUB_OAUTH_URL} if GITHUB_OAUTH_URL else {}),
    }
}

# --- Content-Security-Policy (django-csp) ------------------------------------------------
# Nothing inline: no <script> bodies, no on* handlers, no style attributes. Scripts, styles and
# fonts come from this site only; pictures also from GitHub's avatar host and the configured
# GitHub (Enterprise) host; forms may post here and on to GitHub's sign-in (Chrome checks the
# redirect of a form too).
_GITHUB_WEB = GITHUB_OAUTH_URL or "https://github.com"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "https://avatars.githubusercontent.com", _GITHUB_WEB],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF, _GITHUB_WEB],
        "frame-ancestors": [NONE],
    }
}

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}

# --- REST API -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First, so that a request without credentials is answered 401 with `WWW-Authenticate`.
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Everything needs a signed-in user unless a view documents a public-read exception.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # django-filter's and DRF's, strict: a parameter they cannot take is a 400 naming it.
    "DEFAULT_FILTER_BACKENDS": [
        "contrib.api.filters.FilterBackend",
        "contrib.api.filters.OrderingFilter",
        "contrib.api.filters.SearchFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "contrib.api.pagination.Pagination",
    "DEFAULT_PARSER_CLASSES": [
        "contrib.api.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # drf-spectacular's, plus anonymous reads and the error answers (contrib.api.schema).
    "DEFAULT_SCHEMA_CLASS": "contrib.api.schema.AutoSchema",
    # Domain errors (contrib.errors) answer their own status: one mapping for the whole API.
    "EXCEPTION_HANDLER": "contrib.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Crucible API",
    "DESCRIPTION": (
        "The community: contributors and their contribution ledger, repositories, issues and "
        "pull requests, honour rolls, badges and awards, bounties, sponsors and the docs. The "
        "evaluations: benchmarks and their leaderboards (with 95 % intervals and ties), "
        "submissions (a config, or a folder uploaded as multipart) with their runs and queue "
        "places, and the worker API that evaluation workers call with a worker token.\n\n"
        "Reads are public. Writes need a personal token from /account/tokens/, sent as "
        "`Authorization: Bearer cru_…`; some need a maintainer. Lists take `?page=` and "
        "`?page_size=` (up to 500); errors are JSON and name the field."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Request bodies as their own components, without the read-only fields of the answers.
    "COMPONENT_SPLIT_REQUEST": True,
    # The API speaks JSON; forms are parsed for the browsable API only, so not documented.
    "PARSER_WHITELIST": ["contrib.api.parsers.BoundedJSONParser"],
    # drf-spectacular's own (enums as components), then: no NUL in the text a client sends.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "contrib.api.schema.postprocess_nul_free_strings",
    ],
}

# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_DIR = VAR_DIR / "celery" / "broker"
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_DIR.mkdir(parents=True, exist_ok=True)
# The same options as the evaluation workers', who build theirs without these settings.
CELERY_BROKER_TRANSPORT_OPTIONS = broker_options(CELERY_BROKER_URL, str(VAR_DIR))
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE

# --- Cache: shared by every web process --------------------------------------------------
# Sign-in throttling (django-axes and allauth's limits) must count across processes, so the
# cache is never per process: `CACHE_URL` if given, else Redis where the broker is Redis, else
# a table in the database (created by `migrate`).
CACHE_URL = env("CACHE_URL", default="")
if not CACHE_URL and CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CACHE_URL = CELERY_BROKER_URL
if CACHE_URL:
    CACHES = {"default": {**env.cache_url_config(CACHE_URL), "KEY_PREFIX": "crucible"}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "crucible_cache",
            # The table culls a third of its keys, lowest first, past this many: far above what
            # the throttling counts keep, so a sign-in lock-out is never culled away.
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }
# Pictures for READMEs and shared links (badges, the wall, cards), per process: whatever
# anyone asks for there never pushes the throttling's counts out of the shared cache.
CACHES["pictures"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "crucible-pictures",
    "OPTIONS": {"MAX_ENTRIES": 2_000},
}

# --- Sign-in throttling (django-axes) -----------------------------------------------------
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = env.float("LOGIN_COOLOFF_MINUTES", default=15.0) / 60.0  # hours
AXES_LOCKOUT_PARAMETERS = ["ip_address"]  # per address: nobody can lock another person out
# A success does not wipe the count: otherwise an attacker signs in to an account of their own
# after every few guesses at someone else's and guesses on for ever.
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_CALLABLE = "accounts.throttling.lockout_response"
AXES_CLIENT_IP_CALLABLE = "accounts.throttling.client_ip"
AXES_USERNAME_CALLABLE = "accounts.throttling.username_of"
AXES_VERBOSE = False
# Trusted reverse proxies in front of the site (each appends to X-Forwarded-For); 0 ignores the
# header. Production behind one TLS-terminating proxy sets 1.
PROXY_COUNT = env.int("PROXY_COUNT", default=0)

# --- GitHub -------------------------------------------------------------------------------
GITHUB_WEBHOOK_SECRET = env("GITHUB_WEBHOOK_SECRET", default="")
GITHUB_TOKEN = env("GITHUB_TOKEN", default="")
GITHUB_API_URL = env("GITHUB_API_URL", default="https://api.github.com")
# GitHub caps webhook payloads at 25 MB; anything larger is not from GitHub.
GITHUB_WEBHOOK_MAX_BYTES = 25 * 1024 * 1024
# Outbound calls (backfill, statuses, comments, bot replies). App auth wins over the token for a
# repository with an installation id; the private key is the PEM text (newlines may be "\n").
GITHUB_APP_ID = env("GITHUB_APP_ID", default="")
GITHUB_APP_PRIVATE_KEY = env("GITHUB_APP_PRIVATE_KEY", default="").replace("\\n", "\n")
GITHUB_TIMEOUT = env.int("GITHUB_TIMEOUT", default=15)
GITHUB_RETRIES = env.int("GITHUB_RETRIES", default=5)
GITHUB_SECONDARY_RATE_WAIT = env.float("GITHUB_SECONDARY_RATE_WAIT", default=60.0)
# The longest the platform sleeps for a rate limit before giving up with a clear error.
GITHUB_MAX_RATE_LIMIT_WAIT = env.float("GITHUB_MAX_RATE_LIMIT_WAIT", default=900.0)
# PyGithub's own pacing between calls; GitHub asks integrations to space out writes.
GITHUB_SECONDS_BETWEEN_REQUESTS = env.float("GITHUB_SECONDS_BETWEEN_REQUESTS", default=0.0)
GITHUB_SECONDS_BETWEEN_WRITES = env.float("GITHUB_SECONDS_BETWEEN_WRITES", default=1.0)
GITHUB_BOT_NAME = env("GITHUB_BOT_NAME", default="crucible")  # answers to "@crucible …"
# A delivery, answer or bot command still pending this long (seconds) lost its message (a worker
# killed holding it, a broker restart): the beat queues it again, every half of that at most
# every five minutes. Longer than the answers' longest retry wait (600 s), so that an answer
# waiting for its retry is not sent early.
GITHUB_REQUEUE_AFTER = env.float("GITHUB_REQUEUE_AFTER", default=900.0)
GITHUB_REQUEUE_EVERY = min(300.0, max(5.0, GITHUB_REQUEUE_AFTER / 2))
GITHUB_PERMISSION_CACHE_SECONDS = env.int("GITHUB_PERMISSION_CACHE_SECONDS", default=300)
GITHUB_SYNC_INTERVAL_MINUTES = env.int("GITHUB_SYNC_INTERVAL_MINUTES", default=60)
# Public address of this site: links in statuses and comments, the URL of created webhooks.
PLATFORM_URL = env("PLATFORM_URL", default="http://127.0.0.1:8000").rstrip("/")
CELERY_BEAT_SCHEDULE = {
    "contrib.sync_tracked_repositories": {
        "task": "contrib.sync_tracked_repositories",
        "schedule": GITHUB_SYNC_INTERVAL_MINUTES * 60.0,
    },
}

# --- Evaluation ---------------------------------------------------------------------------
# Hard stop for one engine run on top of the engine's own wall-clock cap.
EVALUATION_RUN_TIMEOUT = env.float("EVALUATION_RUN_TIMEOUT", default=4 * 3600.0)
# A run whose worker sent no heartbeat for this long is requeued once, then failed.
EVALUATION_HEARTBEAT_TIMEOUT = env.float("EVALUATION_HEARTBEAT_TIMEOUT", default=120.0)
# A submission queued this long (and not sent again since) is sent to its queue again: a
# message lost by the broker (a restart without persistence) strands nothing.
EVALUATION_REDISPATCH_AFTER = env.float("EVALUATION_REDISPATCH_AFTER", default=900.0)
# The baseline is re-run on each device class of its queue's workers when its result there is
# older than this (seconds; 0: never): deltas and record tests compare like with like.
EVALUATION_BASELINE_REFRESH = env.float("EVALUATION_BASELINE_REFRESH", default=7 * 86400.0)
CELERY_BEAT_SCHEDULE["evaluation.refresh_baselines"] = {
    "task": "evaluation.refresh_baselines",
    "schedule": 3600.0,
}
CELERY_BEAT_SCHEDULE["contrib.freeze_honor_rolls"] = {
    "task": "contrib.freeze_honor_rolls",
    "schedule": 3600.0,
}
CELERY_BEAT_SCHEDULE["contrib.evaluate_badges"] = {
    "task": "contrib.evaluate_badges",
    "schedule": 1800.0,
}
CELERY_BEAT_SCHEDULE["contrib.requeue_stale_deliveries"] = {
    "task": "contrib.requeue_stale_deliveries",
    "schedule": GITHUB_REQUEUE_EVERY,
}
CELERY_BEAT_SCHEDULE["contrib.requeue_stale_github_answers"] = {
    "task": "contrib.requeue_stale_github_answers",
    "schedule": GITHUB_REQUEUE_EVERY,
}
CELERY_BEAT_SCHEDULE["evaluation.reap_stale_runs"] = {
    "task": "evaluation.reap_stale_runs",
    "schedule": 60.0,
}
# Code submissions: caps on the submission folder taken from a repository tarball, and on the
# tarball itself (bytes downloaded).
EVALUATION_SUBMISSION_MAX_BYTES = env.int("EVALUATION_SUBMISSION_MAX_BYTES", default=20_000_000)
EVALUATION_SUBMISSION_MAX_FILES = env.int("EVALUATION_SUBMISSION_MAX_FILES", default=200)
EVALUATION_ARCHIVE_MAX_BYTES = env.int("EVALUATION_ARCHIVE_MAX_BYTES", default=200_000_000)
# The platform's data store: benchmark files by sha256 (validation and test text are private:
# only the engine's harness reads them; never a sandbox, never the public API).
CRUCIBLE_DATA_DIR = Path(env("CRUCIBLE_DATA_DIR", default=str(VAR_DIR / "data")))
# A benchmark folder uploaded as .tar.gz (admin, API): caps on what it may unpack to.
BENCHMARK_UPLOAD_MAX_BYTES = env.int("BENCHMARK_UPLOAD_MAX_BYTES", default=512 * 1024 * 1024)
BENCHMARK_UPLOAD_MAX_FILES = env.int("BENCHMARK_UPLOAD_MAX_FILES", default=10_000)
