"""Project-level views that belong to no app: the health check probed by load balancers."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django.views.defaults import page_not_found
from rest_framework.exceptions import NotFound

from config.celery import app as celery_app

# Error texts go to whoever can reach /healthz, so they are cut short and stripped of any
# credentials that a driver might quote from a connection URL.
_MAX_ERROR_LENGTH = 200
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.\-]*://)[^/@\s]*@", re.IGNORECASE)


def _secrets_of(url: str) -> list[str]:
    try:
        password = urlsplit(url).password
    except ValueError:
        return []
    # A driver may quote the password as written in the URL or decoded.
    return [secret for secret in {password or "", unquote(password or "")} if secret]


def _describe(exc: BaseException, secrets: list[str]) -> str:
    message = str(exc).strip()
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    text = _URL_CREDENTIALS.sub(r"\g<scheme>***@", text)
    for secret in secrets:
        text = text.replace(secret, "***")
    if len(text) > _MAX_ERROR_LENGTH:
        text = text[: _MAX_ERROR_LENGTH - 1] + "…"
    return text


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_broker() -> None:
    timeout = float(settings.PUNTUAL_HEALTHCHECK_BROKER_TIMEOUT)
    url = celery_app.conf.broker_write_url or ""
    transport_options: dict[str, float] = {}
    if urlsplit(url).scheme in {"redis", "rediss"}:
        # Kombu's Redis transport has no socket timeouts by default: a firewalled or
        # half-open Redis would hang this request, and the gunicorn worker serving it, until
        # the worker timeout kills it.
        # Other transports would reject these options (sqla passes them to create_engine).
        transport_options = {"socket_connect_timeout": timeout, "socket_timeout": timeout}
    with celery_app.connection_for_write(
        connect_timeout=timeout, transport_options=transport_options
    ) as conn:
        # One attempt, no retry sleep: the prober retries on its own schedule, and a check
        # that waits longer than the prober's timeout only turns "down" into "unknown".
        # The socket timeouts above bound that attempt; ensure_connection's own `timeout`
        # only limits time spent across retries.
        conn.ensure_connection(max_retries=0)


def _run(check: Callable[[], None], secrets: list[str]) -> dict[str, object]:
    try:
        check()
    except Exception as exc:  # any failure is a health answer, never a 500
        return {"ok": False, "error": _describe(exc, secrets)}
    return {"ok": True}


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Is this instance able to serve: does the database answer, and does the Celery broker?

    No authentication and no tenant: load balancers and orchestrators call it. 200 when every
    check passes, 503 otherwise, with one entry per check so the operator sees which failed.
    """
    database_password = settings.DATABASES["default"].get("PASSWORD") or ""
    checks = {
        "database": _run(_check_database, [database_password] if database_password else []),
        "broker": _run(_check_broker, _secrets_of(celery_app.conf.broker_write_url or "")),
    }
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "error", "checks": checks},
        status=200 if healthy else 503,
    )


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404 for URLs no route matches: the API's error shape under /api/, the HTML page elsewhere
    (an API id that is not a number, say, never reaches a view to be answered as JSON)."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"code": "not_found", "detail": str(NotFound.default_detail)}, status=404
        )
    return page_not_found(request, exception)
