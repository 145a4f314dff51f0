"""Production: everything comes from the environment; a missing or malformed value stops the start.

Required: DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS, DATABASE_URL (postgres://),
CELERY_BROKER_URL (redis://). See `.env.example` for the rest.
"""

from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from .base import *


def _required(name: str) -> str:
    value = env.str(name, default="").strip()
    if not value:
        raise ImproperlyConfigured(f"Production needs the environment variable {name}.")
    return value


DEBUG = env.bool("DJANGO_DEBUG", default=False)
if DEBUG:
    raise ImproperlyConfigured("DJANGO_DEBUG must be off in production.")

SECRET_KEY = _required("DJANGO_SECRET_KEY")
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be at least 50 random characters.")

ALLOWED_HOSTS = [h.strip() for h in _required("DJANGO_ALLOWED_HOSTS").split(",") if h.strip()]
if not ALLOWED_HOSTS:  # " , " passes _required but would answer 400 to every request
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS lists no host name.")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
for origin in CSRF_TRUSTED_ORIGINS:
    if urlsplit(origin).scheme not in {"http", "https"}:
        raise ImproperlyConfigured(f"DJANGO_CSRF_TRUSTED_ORIGINS entry {origin!r} needs a scheme.")

_database_url = _required("DATABASE_URL")
if urlsplit(_database_url).scheme not in {"postgres", "postgresql", "pgsql"}:
    raise ImproperlyConfigured("DATABASE_URL must be a postgres:// URL in production.")
DATABASES = {"default": env.db_url_config(_database_url)}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)

PUNTUAL_BASE_URL = _required("PUNTUAL_BASE_URL")
_base = urlsplit(PUNTUAL_BASE_URL)
# Plain HTTP only for a local trial (docker compose on this machine): links carry tokens.
if not _base.netloc or not (
    _base.scheme == "https"
    or (_base.scheme == "http" and _base.hostname in {"localhost", "127.0.0.1"})
):
    raise ImproperlyConfigured("PUNTUAL_BASE_URL must be the https:// address clients use.")

CELERY_BROKER_URL = _required("CELERY_BROKER_URL")
if urlsplit(CELERY_BROKER_URL).scheme not in {"redis", "rediss"}:
    raise ImproperlyConfigured(
        "CELERY_BROKER_URL must be a redis:// or rediss:// URL in production."
    )

# Rate limit counters shared by every web process: Redis (the broker's unless told otherwise).
PUNTUAL_RATE_LIMIT_REDIS_URL = env("PUNTUAL_RATE_LIMIT_REDIS_URL", default=CELERY_BROKER_URL)
if urlsplit(PUNTUAL_RATE_LIMIT_REDIS_URL).scheme not in {"redis", "rediss"}:
    raise ImproperlyConfigured("PUNTUAL_RATE_LIMIT_REDIS_URL must be a redis:// URL in production.")

if SMS_BACKEND.endswith("TwilioSMSBackend") and not (TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN):
    raise ImproperlyConfigured(
        "The Twilio SMS backend needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN."
    )

# Webhooks never go to this machine or plain http in production, whatever the environment says.
if env.bool("PUNTUAL_WEBHOOKS_ALLOW_LOCALHOST", default=False):
    raise ImproperlyConfigured(
        "PUNTUAL_WEBHOOKS_ALLOW_LOCALHOST is for development and tests only."
    )
PUNTUAL_WEBHOOKS_ALLOW_LOCALHOST = False

if TWILIO_API_BASE_URL:
    raise ImproperlyConfigured("TWILIO_API_BASE_URL is for tests and benchmarks only.")

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# HTTPS everywhere; the proxy in front terminates TLS and says so.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The same proxy appends the client's address to X-Forwarded-For: per-address rate limits
# count clients, not the proxy (which would put every client in one bucket).
PUNTUAL_TRUSTED_PROXIES = env.int("PUNTUAL_TRUSTED_PROXIES", default=1)
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

LOGGING["root"]["level"] = env("LOG_LEVEL", default="INFO")  # type: ignore[index]
