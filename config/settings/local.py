"""`make run`: embedded defaults, debug on, nothing to install but Python."""

from .base import *

DEBUG = env.bool("DJANGO_DEBUG", default=True)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
# Webhooks to a receiver on this machine (http://localhost) while developing.
PUNTUAL_WEBHOOKS_ALLOW_LOCALHOST = env.bool("PUNTUAL_WEBHOOKS_ALLOW_LOCALHOST", default=True)
