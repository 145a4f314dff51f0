"""/healthz: the database and the Celery broker, answered fast, without secrets."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import OperationalError as DatabaseError
from django.http import HttpResponse
from django.test import RequestFactory
from kombu.exceptions import OperationalError as BrokerError

from config import views
from config.celery import app as celery_app
from config.views import healthz

BROKER_PASSWORD = "s3cr3t-broker-pass"  # a value no real error text contains by accident


def _get(method: str = "get") -> tuple[int, dict[str, Any], HttpResponse]:
    request = getattr(RequestFactory(), method)("/healthz")
    response = healthz(request)
    body = json.loads(response.content) if response.content else {}
    return response.status_code, body, response


def _closed_port() -> int:
    # Bind then release: nothing listens there right after, unlike a hard-coded port.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def point_broker_at(monkeypatch: pytest.MonkeyPatch, settings) -> Callable[[str], None]:
    """Point the Celery app at another broker for one test.

    Celery reads CELERY_BROKER_URL from os.environ before its own configuration, and CI sets
    that variable, so overriding the Django setting alone would silently keep the real broker.
    """

    def point(url: str) -> None:
        monkeypatch.setenv("CELERY_BROKER_URL", url)
        monkeypatch.delenv("CELERY_BROKER_WRITE_URL", raising=False)
        settings.CELERY_BROKER_URL = url
        assert celery_app.conf.broker_write_url == url

    return point


@pytest.fixture
def half_open_port() -> Iterator[int]:
    """A port whose kernel completes the TCP handshake but nobody ever reads or answers.

    This is how a firewalled or wedged Redis looks: connecting succeeds, replies never come.
    """
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


@pytest.mark.django_db
def test_it_reports_ok_when_database_and_broker_answer() -> None:
    status, body, response = _get()

    assert status == 200, body
    assert body == {"status": "ok", "checks": {"database": {"ok": True}, "broker": {"ok": True}}}
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_it_answers_head_requests_for_probes_that_only_read_the_status() -> None:
    status, _body, response = _get("head")

    assert status == 200
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_it_refuses_methods_that_would_change_something(method: str) -> None:
    status, _body, response = _get(method)

    assert status == 405
    assert set(response["Allow"].split(", ")) == {"GET", "HEAD"}


@pytest.mark.django_db
def test_it_answers_503_when_the_broker_is_unreachable(point_broker_at, settings) -> None:
    point_broker_at(f"redis://127.0.0.1:{_closed_port()}/0")

    started = time.monotonic()
    status, body, response = _get()
    elapsed = time.monotonic() - started

    assert status == 503
    assert body["status"] == "error"
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["broker"]["error"].startswith("OperationalError:")
    assert "no-store" in response["Cache-Control"]
    # A refused connection is known at once: no retry loop, no sleeping between attempts.
    assert elapsed < settings.PUNTUAL_HEALTHCHECK_BROKER_TIMEOUT


@pytest.mark.django_db
def test_it_gives_up_after_the_timeout_when_the_broker_never_answers(
    point_broker_at, half_open_port: int, settings
) -> None:
    settings.PUNTUAL_HEALTHCHECK_BROKER_TIMEOUT = 1.0
    point_broker_at(f"redis://127.0.0.1:{half_open_port}/0")

    started = time.monotonic()
    status, body, _response = _get()
    elapsed = time.monotonic() - started

    assert status == 503
    assert body["checks"]["broker"]["ok"] is False
    assert "Timeout" in body["checks"]["broker"]["error"]
    # Without socket timeouts Kombu's Redis transport waits forever here.
    assert elapsed < 3 * settings.PUNTUAL_HEALTHCHECK_BROKER_TIMEOUT


@pytest.mark.django_db
def test_it_does_not_leak_the_broker_password(point_broker_at) -> None:
    point_broker_at(f"redis://:{BROKER_PASSWORD}@127.0.0.1:{_closed_port()}/0")

    status, body, response = _get()

    assert status == 503
    assert body["checks"]["broker"]["ok"] is False
    assert BROKER_PASSWORD not in response.content.decode()


@pytest.mark.django_db
def test_it_redacts_credentials_that_an_error_message_quotes(
    point_broker_at, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"redis://puntual:{BROKER_PASSWORD}@broker.internal:6379/0"
    point_broker_at(url)

    def connection_that_quotes_its_url(**_kwargs: object) -> None:
        raise BrokerError(f"cannot connect to {url}; password was {BROKER_PASSWORD}")

    monkeypatch.setattr(celery_app, "connection_for_write", connection_that_quotes_its_url)

    status, body, response = _get()

    assert status == 503
    assert BROKER_PASSWORD not in response.content.decode()
    assert "redis://***@broker.internal:6379/0" in body["checks"]["broker"]["error"]


@pytest.mark.django_db
def test_it_answers_503_when_the_database_does_not_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    class UnreachableDatabase:
        def cursor(self) -> None:
            raise DatabaseError("connection to server at 10.0.0.5 port 5432 failed: timeout")

    monkeypatch.setattr(views, "connection", UnreachableDatabase())

    status, body, _response = _get()

    assert status == 503
    assert body["status"] == "error"
    assert body["checks"]["database"] == {
        "ok": False,
        "error": "OperationalError: connection to server at 10.0.0.5 port 5432 failed: timeout",
    }
    assert body["checks"]["broker"] == {"ok": True}


@pytest.mark.django_db
def test_it_cuts_long_error_messages_short(monkeypatch: pytest.MonkeyPatch) -> None:
    class ChattyDatabase:
        def cursor(self) -> None:
            raise DatabaseError("x" * 5000)

    monkeypatch.setattr(views, "connection", ChattyDatabase())

    _status, body, _response = _get()

    assert len(body["checks"]["database"]["error"]) <= 200
