"""Request-level protections: API rate limits, response security headers, session lifetimes.

Each is a small middleware with its settings in config/settings/base.py; the tests in
tests/security/ state what each promises.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from tenants import ratelimit

# --- API rate limits -----------------------------------------------------------------------


class ApiRateLimitMiddleware:
    """Every `/api/` request counts against its client address and, with a key, its key.

    After TenantMiddleware (which resolved the key: the counter is per key, not per raw
    header, so made-up keys all share their address's limit) and before any view work. Both
    counters go to Redis in one round trip. Over a limit: 429 with Retry-After, in the API's
    error shape.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith("/api/"):
            return self.get_response(request)
        limits: list[tuple[str, str, ratelimit.Rate]] = [
            ("api_ip", ratelimit.client_ip(request), ratelimit.rate("api_ip"))
        ]
        api_key = getattr(request, "api_key", None)
        if api_key is not None:
            # By its random lookup, not its id: ids repeat across databases sharing one Redis.
            limits.append(("api_key", str(api_key.lookup), ratelimit.rate("api_key")))
        verdict = ratelimit.hit(limits)
        if verdict.allowed:
            return self.get_response(request)
        response = JsonResponse(
            {
                "code": "throttled",
                "detail": _("Too many requests. Try again in %(seconds)d seconds.")
                % {"seconds": verdict.retry_after},
            },
            status=429,
        )
        response["Retry-After"] = str(verdict.retry_after)
        return response


# --- Security headers ----------------------------------------------------------------------

# Pages whose URL carries a secret (clients' appointment links, password reset links): the
# browser must never send that URL as a Referer, to anyone.
TOKEN_PAGES = {("public", "appointment"), ("", "password_reset_confirm")}
# Not "no-referrer": with it, browsers send `Origin: null` on the page's own form POST (the
# Fetch standard's rule for that policy), and Django's CSRF check rightly refuses a null
# origin, so a client could not confirm. "strict-origin" keeps the Origin header and sends at
# most the bare origin, never the path that holds the token.
TOKEN_PAGE_REFERRER_POLICY = "strict-origin"  # noqa: S105 - not a secret
# Policies that never send a token page's path to another site.
SAFE_FOR_TOKENS = {"same-origin", "strict-origin", "no-referrer"}


class SecurityHeadersMiddleware:
    """Content-Security-Policy on every response; on token pages, a Referrer-Policy that never
    sends their URL.

    The policy allows scripts and styles from Puntual's own origin only: no inline script at
    all, and no <style> elements (htmx's indicator styles are in puntual.css instead).
    Style *attributes* stay allowed (`style-src-attr`): the boards place appointments on a grid
    with computed positions and colours, and an attribute cannot run code.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = "; ".join(
            f"{directive} {' '.join(sources)}" if sources else directive
            for directive, sources in settings.PUNTUAL_CONTENT_SECURITY_POLICY.items()
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        match = request.resolver_match
        # A token page that chose its own safe policy (the client's page: same-origin) keeps it.
        if (
            match is not None
            and (match.namespace, match.url_name) in TOKEN_PAGES
            and response.headers.get("Referrer-Policy") not in SAFE_FOR_TOKENS
        ):
            response.headers["Referrer-Policy"] = TOKEN_PAGE_REFERRER_POLICY
        return response


# --- Sessions --------------------------------------------------------------------------------

SESSION_STARTED_KEY = "puntual_started_at"
SESSION_SEEN_KEY = "puntual_seen_at"
# Writing the session on every request would make every page view a database write; the
# idle clock only needs minute precision.
SEEN_RESOLUTION_SECONDS = 60


def session_clock_start(sender: Any, request: HttpRequest | None, **kwargs: Any) -> None:
    """At login: the absolute and idle clocks start now."""
    if request is not None and hasattr(request, "session"):
        now = time.time()
        request.session[SESSION_STARTED_KEY] = now
        request.session[SESSION_SEEN_KEY] = now


class SessionTimeoutMiddleware:
    """Logs a person out after PUNTUAL_SESSION_IDLE_TIMEOUT seconds without a request, and
    PUNTUAL_SESSION_ABSOLUTE_TIMEOUT seconds after logging in, however active.

    Logging out flushes the session on the server (the old cookie is worth nothing). A user
    made inactive loses access at their next request through Django's own check
    (ModelBackend refuses inactive users when it reloads them from the session).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            session = request.session
            started = session.get(SESSION_STARTED_KEY)
            seen = session.get(SESSION_SEEN_KEY)
            if started is None or seen is None:
                session[SESSION_STARTED_KEY] = started = now if started is None else started
                session[SESSION_SEEN_KEY] = seen = now
            idle = now - float(seen) > settings.PUNTUAL_SESSION_IDLE_TIMEOUT
            expired = now - float(started) > settings.PUNTUAL_SESSION_ABSOLUTE_TIMEOUT
            if idle or expired:
                logout(request)
            elif now - float(seen) >= SEEN_RESOLUTION_SECONDS:
                session[SESSION_SEEN_KEY] = now
        return self.get_response(request)
