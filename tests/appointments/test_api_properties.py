"""Whatever JSON arrives, the booking API answers 201, 400 or 409, never a 500,
and a refused request writes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.db import transaction
from django.test import Client as DjangoClient
from django_scopes import scopes_disabled
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appointments.models import Appointment
from clients.models import Client
from tests.appointments.test_api import Setup

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 28, 8, 0, tzinfo=UTC)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            "2026-06-01T10:00:00+02:00",
            "2026-06-01T10:00:00",
            "2026-02-30T10:00:00Z",
            "+34600111222",
            "1",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=6,
)
client_data = st.fixed_dictionaries(
    {},
    optional={
        "name": values,
        "phone": values,
        "email": values,
        "language": values,
        "sms_consent": values,
    },
)


@st.composite
def bodies(draw: st.DrawFn, setup: Setup) -> dict[str, Any]:
    valid = setup.booking(10, staff=setup.ana)
    body: dict[str, Any] = {}
    for key in ("service", "location", "staff", "start", "client", "new_client", "notes"):
        choice = draw(st.sampled_from(["valid", "random", "missing"]))
        if choice == "valid" and key in valid:
            body[key] = valid[key]
        elif choice == "random":
            body[key] = draw(client_data if key == "new_client" else values)
    return body


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_the_booking_endpoint_never_fails_with_a_server_error(
    client: DjangoClient, data: st.DataObject
) -> None:
    with time_machine.travel(NOW, tick=False), transaction.atomic():
        setup = Setup()
        api = setup.key(client)
        body = data.draw(bodies(setup))
        response = client.post(
            "/api/v1/appointments/",
            json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=api.auth,
        )
        assert response.status_code in {201, 400, 409}, (body, response.content)
        payload = response.json()
        with scopes_disabled():
            if response.status_code == 201:
                assert Appointment.objects.filter(pk=payload["id"]).exists()
            else:
                assert isinstance(payload["code"], str) and payload["detail"]
                assert not Appointment.objects.exists()
                assert not Client.objects.exists()
        transaction.set_rollback(True)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_a_body_that_is_not_json_gets_a_parse_error(client: DjangoClient, raw: bytes) -> None:
    with time_machine.travel(NOW, tick=False), transaction.atomic():
        setup = Setup()
        api = setup.key(client)
        response = client.post(
            "/api/v1/appointments/",
            raw,
            content_type="application/json",
            HTTP_AUTHORIZATION=api.auth,
        )
        assert response.status_code in {400, 409, 201}
        assert (
            response.json()["code"] in {"parse_error", "invalid", "slot_taken"}
            or response.status_code == 201
        )
        transaction.set_rollback(True)
