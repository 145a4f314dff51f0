"""Rate limits: per API key and per client address on the API, per address and email on login.

Counters are atomic (Redis INCR in one pipeline, or a locked counter in this process when
there is no Redis); over a limit the API answers 429 with Retry-After, the login form a clear
error without checking the password.
"""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client as DjangoClient
from django.urls import reverse

from tenants import ratelimit
from tenants.models import ApiKeyRole, Business
from tenants.services import api_key_create
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

# 20 seconds into a minute: the window ends in 40 seconds.
T0 = datetime(2026, 6, 1, 10, 0, 20, tzinfo=UTC)


def _key(business: Business, role: str = ApiKeyRole.ADMIN) -> str:
    _api_key, raw = api_key_create(tenant=business, name="limits", role=role)
    return raw


def test_a_key_over_its_limit_gets_429_with_retry_after(
    client: DjangoClient, business: Business, settings: Any, counters: str, address: str
) -> None:
    settings.PUNTUAL_RATE_LIMITS = {**settings.PUNTUAL_RATE_LIMITS, "api_key": (3, 60)}
    raw = _key(business)
    other = _key(business)
    with time_machine.travel(T0, tick=False):
        statuses = [
            client.get(
                "/api/v1/business/", HTTP_AUTHORIZATION=f"Bearer {raw}", REMOTE_ADDR=address
            ).status_code
            for _ in range(4)
        ]
        refused = client.get(
            "/api/v1/business/", HTTP_AUTHORIZATION=f"Bearer {raw}", REMOTE_ADDR=address
        )
        # Another key of the same business, from the same address, has its own counter.
        assert (
            client.get(
                "/api/v1/business/", HTTP_AUTHORIZATION=f"Bearer {other}", REMOTE_ADDR=address
            ).status_code
            == 200
        )
    assert statuses == [200, 200, 200, 429]
    assert refused.status_code == 429
    assert refused["Retry-After"] == "40"
    body = refused.json()
    assert body["code"] == "throttled"
    assert "40 seconds" in body["detail"]
    # The next window opens the door again.
    with time_machine.travel(T0 + timedelta(seconds=40), tick=False):
        response = client.get(
            "/api/v1/business/", HTTP_AUTHORIZATION=f"Bearer {raw}", REMOTE_ADDR=address
        )
    assert response.status_code == 200


def test_an_address_over_its_limit_is_refused_whatever_key_it_tries(
    client: DjangoClient, business: Business, settings: Any, counters: str, address: str
) -> None:
    settings.PUNTUAL_RATE_LIMITS = {**settings.PUNTUAL_RATE_LIMITS, "api_ip": (3, 60)}
    with time_machine.travel(T0, tick=False):
        guesses = [
            client.get(
                "/api/v1/business/",
                HTTP_AUTHORIZATION=f"Bearer pnt_{n:012x}_guess",
                REMOTE_ADDR=address,
            ).status_code
            for n in range(3)
        ]
        refused = client.get(
            "/api/v1/business/", HTTP_AUTHORIZATION=f"Bearer {_key(business)}", REMOTE_ADDR=address
        )
        elsewhere = client.get(
            "/api/v1/business/",
            HTTP_AUTHORIZATION=f"Bearer {_key(business)}",
            REMOTE_ADDR=address + "0",
        )
    assert guesses == [401, 401, 401]
    assert refused.status_code == 429
    assert refused["Retry-After"] == "40"
    assert elsewhere.status_code == 200


def test_the_throttled_message_is_in_the_callers_language(
    client: DjangoClient, business: Business, settings: Any, address: str
) -> None:
    settings.PUNTUAL_RATE_LIMIT_REDIS_URL = ""
    settings.PUNTUAL_RATE_LIMITS = {**settings.PUNTUAL_RATE_LIMITS, "api_ip": (1, 60)}
    with time_machine.travel(T0, tick=False):
        client.get("/api/v1/schema/", REMOTE_ADDR=address)
        response = client.get("/api/v1/business/", REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert response["Content-Language"] == "es"


def test_pages_outside_the_api_are_not_counted(
    client: DjangoClient, settings: Any, address: str
) -> None:
    settings.PUNTUAL_RATE_LIMIT_REDIS_URL = ""
    settings.PUNTUAL_RATE_LIMITS = {**settings.PUNTUAL_RATE_LIMITS, "api_ip": (1, 60)}
    for _ in range(3):
        assert client.get(reverse("login"), REMOTE_ADDR=address).status_code == 200


def test_an_unreachable_redis_falls_back_to_counting_in_the_process(
    settings: Any, address: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings.PUNTUAL_RATE_LIMIT_REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens there
    rate = ratelimit.Rate(limit=2, window=60)
    verdicts = [ratelimit.hit([("test", address, rate)]).allowed for _ in range(3)]
    assert verdicts == [True, True, False]
    assert "unreachable" in caplog.text


def test_concurrent_hits_are_counted_exactly(settings: Any, counters: str, address: str) -> None:
    import threading

    rate = ratelimit.Rate(limit=1000, window=60)
    barrier = threading.Barrier(8)
    allowed: list[bool] = []

    def hammer() -> None:
        barrier.wait()
        for _ in range(25):
            allowed.append(ratelimit.hit([("race", address, rate)]).allowed)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 200 hits made; the next is the 201st whatever the interleaving.
    assert all(allowed) and len(allowed) == 200
    over = ratelimit.Rate(limit=200, window=60)
    assert not ratelimit.hit([("race", address, over)]).allowed


def test_every_api_request_costs_one_redis_round_trip(
    redis_counters: str, address: str, business: Business, client: DjangoClient
) -> None:
    calls: list[int] = []
    backend = ratelimit._counters()
    assert isinstance(backend, ratelimit.RedisCounters)
    original = backend._client.pipeline

    def counting_pipeline(*args: Any, **kwargs: Any) -> Any:
        pipe = original(*args, **kwargs)
        execute = pipe.execute

        def counted_execute(*a: Any, **k: Any) -> Any:
            calls.append(len(pipe.command_stack))
            return execute(*a, **k)

        pipe.execute = counted_execute  # type: ignore[method-assign]
        return pipe

    backend._client.pipeline = counting_pipeline  # type: ignore[method-assign]
    try:
        response = client.get(
            "/api/v1/business/", HTTP_AUTHORIZATION=f"Bearer {_key(business)}", REMOTE_ADDR=address
        )
    finally:
        backend._client.pipeline = original  # type: ignore[method-assign]
    assert response.status_code == 200
    assert calls == [4]  # one pipeline: (SET NX EX + INCR) for the address and for the key


@pytest.mark.parametrize(
    "value", [(0, 60), (5, 0), "x/60", "-1/60"], ids=["no-hits", "no-window", "text", "negative"]
)
def test_a_malformed_rate_is_refused(value: Any) -> None:
    with pytest.raises(ValueError):
        ratelimit.Rate.parse(value)


def test_the_benchmark_settings_never_throttle_booking_http() -> None:
    """booking_http: 16 clients, one key, one address, at least 150 bookings a second."""
    bench = importlib.import_module("benchmarks.settings")
    for name in ("api_key", "api_ip"):
        limit, window = ratelimit.Rate.parse(bench.PUNTUAL_RATE_LIMITS[name]).__dict__.values()
        assert limit / window >= 150 * 100, name
    assert bench.PUNTUAL_RATE_LIMIT_REDIS_URL == bench.CELERY_BROKER_URL  # counted as deployed


# --- Login ------------------------------------------------------------------------------


def _login(client: DjangoClient, email: str, password: str, address: str) -> Any:
    return client.post(
        reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=address
    )


def test_login_attempts_are_limited_per_address_and_email(
    client: DjangoClient, business: Business, settings: Any, counters: str, address: str
) -> None:
    settings.PUNTUAL_RATE_LIMITS = {**settings.PUNTUAL_RATE_LIMITS, "login": (3, 900)}
    user = UserFactory(email="desk@example.com")
    MembershipFactory(tenant=business, user=user)
    with time_machine.travel(T0, tick=False):
        for _ in range(3):
            response = _login(client, "desk@example.com", "wrong", address)
            assert "correct email and password" in response.content.decode()
        # The right password no longer helps from this address for this email...
        response = _login(client, "Desk@Example.com", DEFAULT_PASSWORD, address)
        assert response.status_code == 200
        assert "Too many login attempts. Try again in 15 minutes" in response.content.decode()
        assert "_auth_user_id" not in client.session
        # ...but another address may log in.
        assert (
            _login(client, "desk@example.com", DEFAULT_PASSWORD, address + "0").status_code == 302
        )
    with time_machine.travel(T0 + timedelta(minutes=15), tick=False):
        client.logout()
        assert _login(client, "desk@example.com", DEFAULT_PASSWORD, address).status_code == 302


def test_a_successful_login_clears_its_failures(
    client: DjangoClient, business: Business, settings: Any, counters: str, address: str
) -> None:
    settings.PUNTUAL_RATE_LIMITS = {**settings.PUNTUAL_RATE_LIMITS, "login": (3, 900)}
    user = UserFactory(email="desk@example.com")
    MembershipFactory(tenant=business, user=user)
    with time_machine.travel(T0, tick=False):
        _login(client, "desk@example.com", "wrong", address)
        _login(client, "desk@example.com", "wrong", address)
        assert _login(client, "desk@example.com", DEFAULT_PASSWORD, address).status_code == 302
        client.logout()
        _login(client, "desk@example.com", "wrong", address)
        _login(client, "desk@example.com", "wrong", address)
        assert _login(client, "desk@example.com", DEFAULT_PASSWORD, address).status_code == 302


def test_one_address_guessing_many_emails_is_limited_too(
    client: DjangoClient, settings: Any, counters: str, address: str
) -> None:
    settings.PUNTUAL_RATE_LIMITS = {**settings.PUNTUAL_RATE_LIMITS, "login_ip": (5, 900)}
    UserFactory(email="desk@example.com")
    with time_machine.travel(T0, tick=False):
        for n in range(5):
            _login(client, f"guess{n}@example.com", "wrong", address)
        response = _login(client, "desk@example.com", DEFAULT_PASSWORD, address)
    assert response.status_code == 200
    assert "Too many login attempts" in response.content.decode()


def test_a_forwarded_address_counts_only_behind_a_trusted_proxy(settings: Any) -> None:
    from django.test import RequestFactory

    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7"
    )
    settings.PUNTUAL_TRUSTED_PROXIES = 0
    assert ratelimit.client_ip(request) == "10.0.0.2"
    settings.PUNTUAL_TRUSTED_PROXIES = 1
    assert ratelimit.client_ip(request) == "203.0.113.7"  # the proxy's own view, not the claim
