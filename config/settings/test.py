"""pytest. DATABASE_URL and CELERY_BROKER_URL pick the real services (CI always sets them)."""

from .base import *

SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only, tests only
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SMS_BACKEND = "reminders.channels.sms.LocmemSMSBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LANGUAGE_CODE = "en"
# Serve static files from the app directories (no collectstatic before tests; the browser tests need CSS).
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True

# The Celery worker that the reliability tests start (tests/celery_harness.py) sends through
# the real Twilio backend to a fake Twilio on localhost and writes emails to files the test
# reads. Only that worker opts in: a developer's `.env` naming a real provider never reaches
# the tests.
if env.bool("PUNTUAL_TEST_WORKER", default=False):
    SMS_BACKEND = env("SMS_BACKEND")
    EMAIL_BACKEND = env("EMAIL_BACKEND")
    EMAIL_FILE_PATH = env("EMAIL_FILE_PATH")

# The webhook tests receive deliveries on a local HTTP server (the SSRF tests turn it off).
PUNTUAL_WEBHOOKS_ALLOW_LOCALHOST = True
# The suite makes thousands of requests from one address within a minute: the limits are the
# rate limit tests' to set (tests/security/test_rate_limits.py), with addresses of their own.
PUNTUAL_RATE_LIMITS = {
    name: (1_000_000, window) for name, (_limit, window) in PUNTUAL_RATE_LIMITS.items()
}
