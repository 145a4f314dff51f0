"""The public forms resist scripts: a honeypot, and rate limits per IP and per phone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client as DjangoClient
from django_scopes import scope

from appointments.models import Appointment
from clients.models import Client
from selfservice.ratelimit import rate_limited
from tests.selfservice.conftest import NOW, Shop
from tests.selfservice.test_booking_page import FRIDAY_10, _form


def _count(shop: Shop) -> tuple[int, int]:
    with scope(tenant=shop.business):
        return Appointment.objects.count(), Client.objects.count()


@pytest.mark.usefixtures("frozen")
def test_a_filled_honeypot_books_nothing(client: DjangoClient, shop: Shop) -> None:
    response = client.post("/sonrisa/book/", _form(shop, website="http://spam.example"))
    assert response.status_code == 400
    assert b"could not be completed" in response.content
    assert _count(shop) == (0, 0)


@pytest.mark.usefixtures("frozen")
def test_a_filled_honeypot_joins_no_waitlist(client: DjangoClient, shop: Shop) -> None:
    data = _form(shop, website="x")
    response = client.post("/sonrisa/waitlist/join/", data)
    assert response.status_code == 400
    assert _count(shop) == (0, 0)


@pytest.mark.usefixtures("frozen")
def test_one_phone_cannot_book_again_and_again(
    client: DjangoClient, shop: Shop, settings: Any
) -> None:
    settings.SELFSERVICE_RATE_LIMITS = {"phone": (2, 3600), "ip": (100, 3600)}
    starts = [FRIDAY_10.replace(hour=h) for h in (8, 9, 10)]
    codes = [
        client.post("/sonrisa/book/", _form(shop, start=start.isoformat())).status_code
        for start in starts
    ]
    assert codes == [303, 303, 429]
    assert _count(shop)[0] == 2
    # Another phone from the same address is still welcome.
    other = client.post(
        "/sonrisa/book/",
        _form(shop, start=starts[2].isoformat(), phone="+34699000111", email="other@example.com"),
    )
    assert other.status_code == 303


@pytest.mark.usefixtures("frozen")
def test_one_address_cannot_post_without_end(
    client: DjangoClient, shop: Shop, settings: Any
) -> None:
    settings.SELFSERVICE_RATE_LIMITS = {"ip": (3, 3600), "phone": (100, 3600)}
    codes = [
        client.post(
            "/sonrisa/book/", _form(shop, phone="12"), REMOTE_ADDR="203.0.113.7"
        ).status_code
        for _ in range(4)
    ]
    assert codes == [400, 400, 400, 429]
    response = client.post("/sonrisa/book/", _form(shop), REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 429
    assert b"Too many attempts" in response.content
    assert _count(shop) == (0, 0)
    # A different address is not affected.
    assert client.post("/sonrisa/book/", _form(shop), REMOTE_ADDR="203.0.113.8").status_code == 303


def test_the_window_resets() -> None:
    with time_machine.travel(NOW, tick=False) as traveller:
        assert not rate_limited(scope="t", identity="a", limit=1, window_seconds=60)
        assert rate_limited(scope="t", identity="a", limit=1, window_seconds=60)
        traveller.shift(timedelta(seconds=61))
        assert not rate_limited(scope="t", identity="a", limit=1, window_seconds=60)
