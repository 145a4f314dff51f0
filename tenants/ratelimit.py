"""Fixed-window rate limits with an atomic counter: Redis when configured, else this process.

Every limited request costs one Redis round trip however many counters it touches: the
counters go out in one pipeline (`SET key 0 EX window NX` then `INCR key` for each), so the
counter and its expiry are created together and the increment is atomic across processes.

Without Redis (the embedded `make run` setup, SQLite tests) the counters live in this
process's memory: the limits still hold for a single process, which is what that setup runs.
When Redis is configured but unreachable the same in-memory counters take over (and say so in
the log) rather than refusing every request or letting everything through.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings

log = logging.getLogger(__name__)

KEY_PREFIX = "puntual:rl"


@dataclass(frozen=True)
class Rate:
    """At most `limit` hits per `window` seconds."""

    limit: int
    window: int

    @classmethod
    def parse(cls, value: Any) -> Rate:
        """`(limit, window_seconds)` or "limit/window_seconds"."""
        if isinstance(value, Rate):
            return value
        if isinstance(value, str):
            limit, _, window = value.partition("/")
            value = (int(limit), int(window or 60))
        limit, window = value
        if int(limit) < 1 or int(window) < 1:
            raise ValueError(f"A rate needs a positive limit and window, not {value!r}.")
        return cls(limit=int(limit), window=int(window))


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds until the exhausted window ends (0 when allowed)


class LocalCounters:
    """Counters in this process's memory, for when there is no Redis."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, float]] = {}

    def incr(self, keys: Sequence[tuple[str, int]], now: float) -> list[int]:
        with self._lock:
            if len(self._counts) > 10_000:  # forget expired windows now and then
                self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
            result = []
            for key, window in keys:
                count, expires = self._counts.get(key, (0, 0.0))
                if expires <= now:
                    count, expires = 0, now + window
                count += 1
                self._counts[key] = (count, expires)
                result.append(count)
            return result

    def delete(self, keys: Sequence[str]) -> None:
        with self._lock:
            for key in keys:
                self._counts.pop(key, None)


class RedisCounters:
    def __init__(self, url: str) -> None:
        import redis

        # Short timeouts: a rate limit must not make a request wait for a sick Redis.
        self._client = redis.Redis.from_url(
            url, socket_connect_timeout=0.5, socket_timeout=0.5, health_check_interval=30
        )

    def incr(self, keys: Sequence[tuple[str, int]], now: float) -> list[int]:
        pipe = self._client.pipeline(transaction=False)
        for key, window in keys:
            pipe.set(key, 0, ex=window, nx=True)
            pipe.incr(key)
        replies = pipe.execute()
        return [int(reply) for reply in replies[1::2]]

    def delete(self, keys: Sequence[str]) -> None:
        if keys:
            self._client.delete(*keys)


_lock = threading.Lock()
_backend: tuple[str, LocalCounters | RedisCounters] | None = None
_fallback = LocalCounters()


def _counters() -> LocalCounters | RedisCounters:
    """The configured counters, built once per URL (tests may change the setting)."""
    global _backend
    url = settings.PUNTUAL_RATE_LIMIT_REDIS_URL or ""
    current = _backend
    if current is not None and current[0] == url:
        return current[1]
    with _lock:
        counters: LocalCounters | RedisCounters = RedisCounters(url) if url else LocalCounters()
        _backend = (url, counters)
        return counters


def _incr(keys: Sequence[tuple[str, int]], now: float) -> list[int]:
    counters = _counters()
    try:
        return counters.incr(keys, now)
    except Exception:
        if isinstance(counters, LocalCounters):
            raise
        log.warning("Rate limit counters unreachable in Redis; counting in this process.")
        return _fallback.incr(keys, now)


def _key(scope: str, ident: str, rate: Rate, now: float) -> str:
    window_start = int(now // rate.window) * rate.window
    return f"{KEY_PREFIX}:{scope}:{ident}:{rate.window}:{window_start}"


def hit(
    limits: Sequence[tuple[str, str, Rate]], *, clock: Callable[[], float] = time.time
) -> Verdict:
    """Count one hit on each (scope, identifier, rate); refused if any went over its limit.

    Refused hits count too: a client hammering a closed door keeps it closed until the
    window ends.
    """
    if not limits:
        return Verdict(allowed=True, retry_after=0)
    now = clock()
    keys = [(_key(scope, ident, rate, now), rate.window) for scope, ident, rate in limits]
    counts = _incr(keys, now)
    retry_after = 0
    for (_scope, _ident, rate), count in zip(limits, counts, strict=True):
        if count > rate.limit:
            window_end = (int(now // rate.window) + 1) * rate.window
            retry_after = max(retry_after, max(1, math.ceil(window_end - now)))
    return Verdict(allowed=retry_after == 0, retry_after=retry_after)


def reset(scope: str, ident: str, rate: Rate, *, clock: Callable[[], float] = time.time) -> None:
    """Forget the current window's count (a successful login clears its failures)."""
    key = _key(scope, ident, rate, clock())
    counters = _counters()
    try:
        counters.delete([key])
    except Exception:
        if isinstance(counters, LocalCounters):
            raise
    _fallback.delete([key])


def rate(name: str) -> Rate:
    """The configured rate called `name` in settings.PUNTUAL_RATE_LIMITS."""
    return Rate.parse(settings.PUNTUAL_RATE_LIMITS[name])


def client_ip(request: Any) -> str:
    """The client's address: REMOTE_ADDR, or the address the trusted proxies saw.

    PUNTUAL_TRUSTED_PROXIES is the number of proxies in front of Puntual that append to
    X-Forwarded-For; without any, the header is the client's own claim and is ignored.
    """
    proxies = int(getattr(settings, "PUNTUAL_TRUSTED_PROXIES", 0))
    remote = str(request.META.get("REMOTE_ADDR", "") or "unknown")
    if proxies <= 0:
        return remote
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if len(forwarded) >= proxies:
        return forwarded[-proxies]
    return remote
