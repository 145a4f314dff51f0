"""Settings of the benchmarks: the shared base (as deployed: persistent connections, health
checks, DEBUG off) on the benchmark's own PostgreSQL database, quiet about expected 4xx."""

import warnings

from django.core.exceptions import ImproperlyConfigured

from benchmarks import DEFAULT_BROKER_URL, DEFAULT_DATABASE_URL
from config.settings.base import *  # noqa: F403
from config.settings.base import env

SECRET_KEY = "benchmark-only-insecure-key-0123456789-abcdefghijklmnopqrstuvwxyz"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

DATABASES = {"default": env.db_url("BENCH_DATABASE_URL", default=DEFAULT_DATABASE_URL)}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("BENCH_DATABASE_URL must be a postgres:// URL.")
# The same connection handling as base.py gives PostgreSQL in every environment.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)

# Nothing is collected into STATIC_ROOT for the benchmarks; WhiteNoise need not say so.
warnings.filterwarnings("ignore", message="No directory at: ", category=UserWarning)

# The reminder benchmarks run a real worker on a real Redis: a database of its own on it
# (BENCH_BROKER_URL), so that no one else's queues are read or purged. Booking enqueues
# nothing; /healthz pings it as it pings the deployed broker.
CELERY_BROKER_URL = env("BENCH_BROKER_URL", default=DEFAULT_BROKER_URL)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}  # as base.py gives Redis

# The races of booking_http answer 409 by design: log server errors only.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "django.db.backends": {"level": "WARNING"},
        "twilio.http_client": {"level": "WARNING"},  # as base.py: reminder_dispatch's worker
        "benchmarks": {"level": "INFO"},
    },
}

# booking_http's 16 clients share one key and one address at well over the deployed limits:
# they are counted as in production (one Redis round trip per request) but never refused.
PUNTUAL_RATE_LIMIT_REDIS_URL = CELERY_BROKER_URL
PUNTUAL_RATE_LIMITS = {
    name: (1_000_000_000, window)
    for name, (_limit, window) in PUNTUAL_RATE_LIMITS.items()  # noqa: F405
}
