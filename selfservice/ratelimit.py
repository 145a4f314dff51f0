"""A fixed-window counter in Django's cache: enough to slow a script hammering a public form.

The cache is shared by every web process when it is Redis (production); with the local
memory cache each process counts for itself, which still bounds a single attacker.
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache


def _key(scope: str, identity: str, window: int) -> str:
    digest = hashlib.sha256(identity.encode()).hexdigest()[:32]  # no phone numbers in the cache
    return f"selfservice:rl:{scope}:{window}:{digest}"


def rate_limited(*, scope: str, identity: str, limit: int, window_seconds: int) -> bool:
    """Count one more attempt of `identity`; True when it went over `limit` in the window."""
    if not identity:
        return False
    key = _key(scope, identity, window_seconds)
    # add() only sets a missing key, so the window starts at the first attempt.
    if cache.add(key, 1, timeout=window_seconds):
        return limit < 1
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.add(key, 1, timeout=window_seconds)
        count = 1
    return count > limit


def client_ip(request: object) -> str:
    """The client's address as the web server saw it. Behind a proxy, configure the proxy to
    set REMOTE_ADDR (e.g. gunicorn's --forwarded-allow-ips): a header is spoofable."""
    meta = getattr(request, "META", {})
    return str(meta.get("REMOTE_ADDR", ""))
