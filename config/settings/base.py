"""Settings shared by every environment.

Every value an operator may change is read from the environment (see `.env.example`).
The defaults here are the embedded ones used by `make run`: SQLite, a Celery broker on a
SQLite file, and console email / SMS. `production.py` removes the defaults and fails loudly.
"""

from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"  # runtime files of the embedded defaults (SQLite, broker, beat)

env = environ.Env()
# A local `.env` is a convenience for developers; production passes real environment variables.
# DJANGO_READ_DOT_ENV=0 ignores it (the settings tests need an environment they fully control).
if env.bool("DJANGO_READ_DOT_ENV", default=True) and (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"))

SECRET_KEY = env("DJANGO_SECRET_KEY", default="dev-only-insecure-key-change-me")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS: list[str] = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "anymail",
    # Puntual
    "tenants",
    "clients",
    "appointments",
    "reminders",
    "policies",
    "reports",
    "selfservice",
    "hooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Idle and absolute session timeouts: before anything reads the user's business.
    "tenants.security.SessionTimeoutMiddleware",
    # Resolves the active business and activates the tenant scope for the whole request.
    "tenants.middleware.TenantMiddleware",
    # After the tenant: the business's language is the default when the user chose none.
    "tenants.middleware.BusinessLocaleMiddleware",
    # After the key is resolved (per-key counters) and the language chosen (the 429's text).
    "tenants.security.ApiRateLimitMiddleware",
    "tenants.security.SecurityHeadersMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenants.context_processors.tenancy",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'puntual.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server, the worker and beat share one SQLite file in `make run`: take the
    # write lock at BEGIN so that check-then-write services are serialised, and wait
    # for it instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # libpq waits forever for an unreachable server by default; /healthz must answer.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------------------
AUTH_USER_MODEL = "tenants.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard:home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Sessions and security headers ---------------------------------------------------------
# A person is logged out after this long without a request, and this long after logging in
# however active (a receptionist's working day). Seconds.
PUNTUAL_SESSION_IDLE_TIMEOUT = env.int("PUNTUAL_SESSION_IDLE_TIMEOUT", default=2 * 3600)
PUNTUAL_SESSION_ABSOLUTE_TIMEOUT = env.int("PUNTUAL_SESSION_ABSOLUTE_TIMEOUT", default=12 * 3600)
SESSION_COOKIE_AGE = PUNTUAL_SESSION_ABSOLUTE_TIMEOUT
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"  # token pages: stricter (tenants.security)
X_FRAME_OPTIONS = "DENY"
# Sent on every response by tenants.security.SecurityHeadersMiddleware: no inline script, no
# <style> element, nothing from another origin, never framed.
PUNTUAL_CONTENT_SECURITY_POLICY: dict[str, list[str]] = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "style-src-attr": ["'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}

# --- Internationalisation -------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("es", _("Spanish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"  # storage and server time; local wall time only at the edges
USE_TZ = True

# --- Static files ---------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Email and SMS --------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Puntual <no-reply@puntual.localhost>")
SERVER_EMAIL = env("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
# Every ANYMAIL_<ESP>_<SETTING> environment variable (ANYMAIL_POSTMARK_SERVER_TOKEN, ...)
# becomes ANYMAIL["<ESP>_<SETTING>"]: one rule for every provider anymail supports.
# ANYMAIL_WEBHOOK_SECRET ("user:password") → ANYMAIL["WEBHOOK_SECRET"]: the basic auth the
# provider's tracking webhook must send; without it Puntual refuses every email webhook.
ANYMAIL = {
    key.removeprefix("ANYMAIL_"): value
    for key, value in env.ENVIRON.items()
    if key.startswith("ANYMAIL_")
}

# Where clients reach Puntual: the links in messages are built on it.
PUNTUAL_BASE_URL = env("PUNTUAL_BASE_URL", default="http://127.0.0.1:8000")

SMS_BACKEND = env("SMS_BACKEND", default="reminders.channels.sms.ConsoleSMSBackend")
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env("TWILIO_FROM_NUMBER", default="")
TWILIO_MESSAGING_SERVICE_SID = env("TWILIO_MESSAGING_SERVICE_SID", default="")
# Seconds. Connecting fails fast (nothing was sent: retried); a slow answer is "unknown".
TWILIO_CONNECT_TIMEOUT = env.float("TWILIO_CONNECT_TIMEOUT", default=5.0)
TWILIO_READ_TIMEOUT = env.float("TWILIO_READ_TIMEOUT", default=15.0)
# Only for tests and benchmarks: send Twilio's REST calls to a fake server on localhost.
TWILIO_API_BASE_URL = env("TWILIO_API_BASE_URL", default="")

# --- Celery ---------------------------------------------------------------------------
CELERY_BROKER_URL = env(
    "CELERY_BROKER_URL", default=f"sqla+sqlite:///{VAR_DIR / 'celery-broker.sqlite3'}"
)
CELERY_RESULT_BACKEND = None  # tasks record their outcome in Puntual's own tables
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_TASK_ACKS_LATE = True  # a killed worker's task is redelivered, services make it idempotent
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup opens a database connection for every task (before and after each, it
# closes them all) unless this is set; then it closes them every 2 x this many tasks. Puntual
# keeps them as Django does between requests (CONN_MAX_AGE, checked: config/celery.py): a
# connection per task cost the worker and PostgreSQL more than the task itself.
CELERY_DB_REUSE_MAX = 1_000_000_000
# The worker's tasks wait on the network (a provider call, database round trips), not on the
# CPU: one process with 32 threads sends 5,000-6,000 SMS a minute on 2 shared cores against a
# provider answering in 50 ms (`make bench BENCH_ARGS=reminder_dispatch`), where the 2
# processes of the prefork pool sent ~1,100. Each thread holds one database connection. 16 threads sent less
# (sends wait on the provider), 64 no more (only more switching and more connections).
CELERY_WORKER_POOL = env("CELERY_WORKER_POOL", default="threads")
CELERY_WORKER_CONCURRENCY = env.int("CELERY_WORKER_CONCURRENCY", default=32)
# Puntual never inspects or controls workers remotely. With it on, Celery 5.7 / kombu 5.7
# workers sometimes exit ("Unrecoverable error ... hostname") instead of reconnecting when
# the broker goes away mid-task (tests/reminders/test_worker_reliability.py).
CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Redis redelivers an unacked message after this; no task may be scheduled with an ETA beyond it.
# Only for Redis: the sqla transport hands its options to create_engine(), which rejects them.
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {"visibility_timeout": 3600} if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else {}
)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "dispatch-due-messages": {"task": "reminders.tasks.dispatch_due_messages", "schedule": 60.0},
    # Bookings whose deposit deadline passed unpaid are cancelled and their slot freed.
    "release-unpaid-deposits": {
        "task": "policies.tasks.release_unpaid_deposits",
        "schedule": 60.0,
    },
    # Weekly and monthly reports by email, each at its business's local send hour.
    "send-scheduled-reports": {"task": "reports.tasks.send_scheduled_reports", "schedule": 900.0},
    # Waitlist offers and post-visit surveys that came due.
    "send-selfservice-messages": {
        "task": "selfservice.tasks.send_due_selfservice_messages",
        "schedule": 60.0,
    },
    # Webhook deliveries whose task was lost (broker down, worker killed) are published again.
    "sweep-webhooks": {"task": "hooks.tasks.sweep_webhooks", "schedule": 60.0},
}
# Self-service: how long a waitlist offer stays open, and the public forms' rate limits
# ((attempts, seconds) per key). When the post-visit survey is asked is each business's
# survey rule (Settings > Reminders).
SELFSERVICE_OFFER_HOURS = env.float("SELFSERVICE_OFFER_HOURS", default=2.0)
SELFSERVICE_RATE_LIMITS = {"ip": (30, 3600), "phone": (5, 3600)}

# Outbound webhooks may target http://localhost: development and tests only (never production).
PUNTUAL_WEBHOOKS_ALLOW_LOCALHOST = env.bool("PUNTUAL_WEBHOOKS_ALLOW_LOCALHOST", default=False)

# --- REST API -------------------------------------------------------------------------
# Rate limits (tenants.ratelimit): (requests, window in seconds). Every /api/ request counts
# against its client address and its key; login attempts against the address and the email.
PUNTUAL_RATE_LIMITS: dict[str, tuple[int, int]] = {
    "api_key": (env.int("PUNTUAL_RATE_LIMIT_API_KEY_PER_MINUTE", default=600), 60),
    "api_ip": (env.int("PUNTUAL_RATE_LIMIT_API_IP_PER_MINUTE", default=600), 60),
    "login": (env.int("PUNTUAL_RATE_LIMIT_LOGIN_PER_15_MINUTES", default=5), 15 * 60),
    "login_ip": (env.int("PUNTUAL_RATE_LIMIT_LOGIN_IP_PER_15_MINUTES", default=50), 15 * 60),
}
# Where the counters live: a Redis URL (shared by every web process), or empty for counters in
# each process's memory (the embedded setup). Defaults to the broker when that is Redis.
PUNTUAL_RATE_LIMIT_REDIS_URL = env(
    "PUNTUAL_RATE_LIMIT_REDIS_URL",
    default=CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else "",
)
# How many proxies in front of Puntual append the client's address to X-Forwarded-For
# (0: trust only the connection's address).
PUNTUAL_TRUSTED_PROXIES = env.int("PUNTUAL_TRUSTED_PROXIES", default=0)

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenants.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tenants.api.permissions.IsBusinessMember"],
    "EXCEPTION_HANDLER": "tenants.api.exceptions.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "tenants.api.pagination.Pagination",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Puntual API",
    "DESCRIPTION": (
        "Appointments, reminders and policies for one business, authenticated by its API key"
        " (`Authorization: Bearer pnt_...`).\n\n"
        "**Roles.** An admin key does everything; a receptionist key what the front desk does"
        " (no services, staff, hours, locations, reminder rules, policies, fee exceptions or"
        " client data export and erasure); a read-only key only reads. Refused: 403.\n\n"
        "**Lists** page with a cursor: `{next, previous, results}`; `page_size` 1-200 (default"
        " 50). Follow `next` as given; a made-up cursor is 400 `invalid_cursor`.\n\n"
        "**Errors** are `{code, detail, errors?}`; `code` is stable (`invalid`, `not_found`,"
        " `permission_denied`, `slot_taken`, `throttled`, ...), `detail` is translated"
        " (Accept-Language).\n\n"
        "**Rate limits** per key and per client address (600 requests a minute by default):"
        " beyond, 429 `throttled` with `Retry-After` in seconds."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The documentation's JavaScript and CSS come from the installed sidecar, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The API is documented as JSON: integrators send JSON (DRF's form parsers stay for the
    # browsable forms, but multipart cannot carry nulls or nested objects, so it is not offered).
    "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser"],
    # Every operation declares the errors it can answer, in the one error shape.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "tenants.api.schema.add_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "AppointmentStatusEnum": "appointments.models.AppointmentStatus",
        # Fields named "channel" and "language" with other choice sets exist elsewhere.
        "RuleChannelEnum": "reminders.models.RuleChannel",
        "LanguageEnum": LANGUAGES,
        "WaitlistSourceEnum": "selfservice.models.WaitlistSource",
        "SourceEnum": "appointments.models.Source",
    },
}

# --- Logging --------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # The twilio package logs every request's headers at INFO: noise, once per SMS.
        "twilio.http_client": {"level": "WARNING"},
    },
}

PUNTUAL_HEALTHCHECK_BROKER_TIMEOUT = (
    2.0  # seconds; /healthz must answer fast even when Redis is gone
)
