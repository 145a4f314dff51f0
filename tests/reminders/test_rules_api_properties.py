"""Whatever JSON arrives, the reminder rules API answers 2xx or 400, never a 500, and a
refused request changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
import time_machine
from django.db import transaction
from django.test import Client as DjangoClient
from django_scopes import scopes_disabled
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reminders.models import OutboundMessage, ReminderRule
from tenants.models import ApiKeyRole
from tenants.services import api_key_create
from tests.reminders.conftest import BOOKED_AT, Clinic

pytestmark = pytest.mark.django_db

templates = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            "",
            "{client_name}",
            "{client_name.__class__}",
            "{0}",
            "{}",
            "}{",
            "{date:%Y}",
            "{time!r}",
            "Reply STOP",
            "\x00",
            "á" * 400,
            "{manage_link} " * 40,
        ]
    ),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False),
    templates,
    st.sampled_from(["sms", "email", "sms_then_email", "reminder", "hours", "days", "es", "en"]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
texts = st.one_of(
    values,
    st.dictionaries(
        st.sampled_from(["es", "en", "fr", ""]),
        st.one_of(
            values, st.dictionaries(st.sampled_from(["subject", "body", "sms", "x"]), templates)
        ),
        max_size=3,
    ),
)
VALID = {
    "name": "Two hours before",
    "purpose": "reminder",
    "channel": "sms",
    "offset": 2,
    "offset_unit": "hours",
    "only_if_unconfirmed": False,
    "is_active": True,
    "texts": {},
}


@st.composite
def bodies(draw: st.DrawFn) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for key in (*VALID, "offset_minutes", "appointment", "language"):
        choice = draw(st.sampled_from(["valid", "random", "missing"]))
        if choice == "valid" and key in VALID:
            body[key] = VALID[key]
        elif choice == "random":
            body[key] = draw(texts if key == "texts" else values)
    return body


def _state() -> tuple[list[Any], list[Any]]:
    with scopes_disabled():
        return (
            list(ReminderRule.objects.order_by("id").values()),
            list(OutboundMessage.objects.order_by("id").values()),
        )


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_rule_writes_and_previews_never_fail_with_a_server_error(
    client: DjangoClient, data: st.DataObject
) -> None:
    with time_machine.travel(BOOKED_AT, tick=False), transaction.atomic():
        clinic = Clinic()
        try:
            _, raw = api_key_create(tenant=clinic.business, name="k", role=ApiKeyRole.ADMIN)
            clinic.book(BOOKED_AT.replace(day=8))
            body = data.draw(bodies())
            method, path = data.draw(
                st.sampled_from(
                    [
                        ("post", "/api/v1/reminder-rules/"),
                        ("patch", f"/api/v1/reminder-rules/{clinic.rules[1].pk}/"),
                        ("put", f"/api/v1/reminder-rules/{clinic.rules[1].pk}/"),
                        ("post", "/api/v1/reminder-rules/preview/"),
                    ]
                )
            )
            before = _state()
            response = getattr(client, method)(
                path,
                json.dumps(body),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {raw}",
            )
            assert response.status_code in {200, 201, 400}, (body, response.content)
            payload = response.json()
            if response.status_code == 400 or path.endswith("preview/"):
                assert _state() == before
            if response.status_code == 400:
                # json.dumps writes floats like inf as "Infinity", which is not JSON.
                assert payload["code"] in {"invalid", "parse_error"} and payload["detail"]
        finally:
            clinic.scope.__exit__(None, None, None)
            transaction.set_rollback(True)
