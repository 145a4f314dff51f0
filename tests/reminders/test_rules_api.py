"""Admins configure reminder rules through the API; every change reaches the messages not sent yet."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client as DjangoClient
from django_scopes import scope, scopes_disabled
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

from appointments.services import Actor, appointment_cancel, appointment_confirm
from reminders.models import (
    AppointmentAccess,
    MessageKind,
    MessageStatus,
    OutboundMessage,
    ReminderRule,
    RuleChannel,
)
from reminders.services.dispatch import message_send, messages_claim_due
from reminders.services.rules import sms_size
from tenants.models import ApiKeyRole, Role
from tenants.services import api_key_create
from tests.conftest import login_member
from tests.fakes import ScriptedSMSBackend
from tests.reminders.conftest import BOOKED_AT, Clinic

pytestmark = pytest.mark.django_db

MADRID = ZoneInfo("Europe/Madrid")
MONDAY_10 = datetime(2026, 6, 8, 10, 0, tzinfo=MADRID)
URL = "/api/v1/reminder-rules/"


@pytest.fixture(autouse=True)
def _frozen() -> Iterator[None]:
    with time_machine.travel(BOOKED_AT, tick=False):
        yield


class Api:
    def __init__(self, http: DjangoClient, clinic: Clinic, role: str = ApiKeyRole.ADMIN) -> None:
        _, raw = api_key_create(tenant=clinic.business, name=f"key-{role}", role=role)
        self.http = http
        self.auth: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    def get(self, path: str = URL, **params: Any) -> Any:
        return self.http.get(path, params, **self.auth)

    def send(self, method: str, path: str, body: Any) -> Any:
        return getattr(self.http, method)(path, body, content_type="application/json", **self.auth)

    def post(self, body: Any, path: str = URL) -> Any:
        return self.send("post", path, body)

    def patch(self, rule: ReminderRule, body: Any) -> Any:
        return self.send("patch", f"{URL}{rule.pk}/", body)


@pytest.fixture
def api(client: DjangoClient, clinic: Clinic) -> Api:
    return Api(client, clinic)


def reminder(clinic: Clinic) -> ReminderRule:
    return clinic.rules[1]  # "Reminder, 24 h", by SMS


def row(rule: ReminderRule, appointment: Any = None) -> OutboundMessage:
    rows = OutboundMessage.objects.filter(rule=rule)
    return rows.get(appointment=appointment) if appointment is not None else rows.get()


def snapshot() -> tuple[list[Any], list[Any], int]:
    with scopes_disabled():
        return (
            list(ReminderRule.objects.order_by("id").values()),
            list(OutboundMessage.objects.order_by("id").values()),
            AppointmentAccess.objects.count(),
        )


NEW_RULE = {
    "name": "Last call, 2 h",
    "purpose": "reminder",
    "channel": "sms",
    "offset": 2,
    "offset_unit": "hours",
}


# --- Reading -------------------------------------------------------------------------------


def test_members_and_every_key_read_the_rules_with_their_offset_in_a_whole_unit(
    client: DjangoClient, clinic: Clinic
) -> None:
    for role in (ApiKeyRole.READ_ONLY, ApiKeyRole.RECEPTIONIST):
        response = Api(client, clinic, role).get()
        assert response.status_code == 200
        rules = {r["name"]: r for r in response.json()["results"]}
        assert rules["Confirmation request, 48 h"] | {"id": 0} == {
            "id": 0,
            "name": "Confirmation request, 48 h",
            "purpose": "confirmation_request",
            "channel": "email",
            "offset_minutes": 2880,
            "offset": 2,
            "offset_unit": "days",
            "only_if_unconfirmed": True,
            "is_active": True,
            "texts": {},
        }
        assert (rules["Reminder, 24 h"]["offset"], rules["Reminder, 24 h"]["offset_unit"]) == (
            1,
            "days",
        )
    login_member(client, clinic.business, Role.PROVIDER)
    assert client.get(f"{URL}{reminder(clinic).pk}/").json()["name"] == "Reminder, 24 h"


# --- Writing -------------------------------------------------------------------------------


def test_an_admin_creates_a_rule_with_an_offset_and_unit(api: Api, clinic: Clinic) -> None:
    response = api.post(
        {**NEW_RULE, "texts": {"es": {"sms": "{business_name}: hoy a las {time}."}}}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["offset_minutes"], body["offset"], body["offset_unit"]) == (120, 2, "hours")
    rule = ReminderRule.objects.get(pk=body["id"])
    assert (rule.offset_minutes, rule.channel, rule.is_active, rule.only_if_unconfirmed) == (
        120,
        RuleChannel.SMS,
        True,
        False,
    )
    assert rule.texts == {"es": {"sms": "{business_name}: hoy a las {time}."}}


def test_an_offset_in_minutes_works_too_and_the_output_names_the_largest_unit(api: Api) -> None:
    minutes = {k: v for k, v in NEW_RULE.items() if k not in ("offset", "offset_unit")}
    body = api.post({**minutes, "offset_minutes": 90}).json()
    assert (body["offset_minutes"], body["offset"], body["offset_unit"]) == (90, 90, "minutes")


@pytest.mark.parametrize("role", [ApiKeyRole.RECEPTIONIST, ApiKeyRole.READ_ONLY])
def test_only_admins_write(client: DjangoClient, clinic: Clinic, role: str) -> None:
    api = Api(client, clinic, role)
    before = snapshot()
    assert api.post(NEW_RULE).status_code == 403
    assert api.patch(reminder(clinic), {"offset_minutes": 60}).status_code == 403
    assert api.send("delete", f"{URL}{reminder(clinic).pk}/", {}).status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**NEW_RULE, "name": "Reminder, 24 h"}, "name"),
        ({**NEW_RULE, "channel": "fax"}, "channel"),
        ({**NEW_RULE, "purpose": "party"}, "purpose"),
        (
            {k: v for k, v in NEW_RULE.items() if k not in ("offset", "offset_unit")},
            "offset_minutes",
        ),
        ({**NEW_RULE, "offset_unit": "weeks"}, "offset_unit"),
        ({k: v for k, v in NEW_RULE.items() if k != "offset_unit"}, "offset_unit"),
        ({**NEW_RULE, "offset": 0}, "offset"),
        ({**NEW_RULE, "offset": 61, "offset_unit": "days"}, "offset"),
        ({**NEW_RULE, "offset_minutes": 60}, "offset_minutes"),  # 2 hours disagree
        ({**NEW_RULE, "offset": "soon"}, "offset"),
        ({**NEW_RULE, "texts": ["es"]}, "texts"),
        ({**NEW_RULE, "texts": {"fr": {"sms": "Bonjour"}}}, "texts"),
        ({**NEW_RULE, "texts": {"es": {"greeting": "Hola"}}}, "texts"),
        ({**NEW_RULE, "texts": {"es": {"sms": 42}}}, "texts"),
        ({**NEW_RULE, "texts": {"es": "Hola"}}, "texts"),
        ({**NEW_RULE, "only_if_unconfirmed": "perhaps"}, "only_if_unconfirmed"),
    ],
)
def test_bad_input_is_a_400_with_the_field_and_changes_nothing(
    api: Api, body: dict[str, Any], field: str
) -> None:
    before = snapshot()
    response = api.post(body)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"
    assert field in response.json()["errors"]
    assert snapshot() == before


@pytest.mark.parametrize("body", [None, [], "rule", 42, {"texts": None}])
def test_a_body_that_is_not_a_rule_is_a_400(api: Api, body: Any) -> None:
    before = snapshot()
    response = api.post(body)
    assert response.status_code == 400
    assert response.json()["code"] in {"invalid", "parse_error"}
    assert snapshot() == before


@pytest.mark.parametrize(
    ("part", "text", "says"),
    [
        ("sms", "Hola {client}, te esperamos", "Unknown placeholder {client}"),
        ("sms", "Hola {client_name.__class__}", "Unknown placeholder"),
        ("sms", "Hola {client_name!r}", "Unknown placeholder"),
        ("subject", "Cita {date", "Braces must be balanced"),
        ("body", "{manage_link:>300}", "Unknown placeholder"),
        ("sms", "Cita {date}. Reply STOP to cancel", "STOP"),
        ("sms", "Si no puedes venir, responde CANCEL", "CANCEL"),
        ("sms", "Te esperamos. " + "Recuerda traer tu tarjeta sanitaria. " * 20, "parts"),
        ("sms", "x" * 1601, "1600"),
        ("body", "Hola\x00", "Null characters"),
    ],
)
def test_texts_are_checked_before_anything_is_saved(
    api: Api, clinic: Clinic, part: str, text: str, says: str
) -> None:
    before = snapshot()
    response = api.patch(reminder(clinic), {"texts": {"es": {part: text}}})
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]["texts"]
    assert says in " ".join(errors["es"][part])
    assert snapshot() == before


def test_an_sms_as_long_as_puntual_s_own_is_accepted(api: Api, clinic: Clinic) -> None:
    """The length limit is on the SMS as sent: long placeholders count, and the default passes."""
    own = (
        "{business_name}: te recordamos tu cita de {service} con {staff} el {date} a las {time} "
        "({timezone}). Si no puedes venir, avísanos: {manage_link}"
    )
    response = api.patch(reminder(clinic), {"texts": {"es": {"sms": own}, "en": {"sms": ""}}})
    assert response.status_code == 200, response.content
    assert response.json()["texts"] == {"es": {"sms": own}}  # empty parts fall back to defaults


def test_sms_parts_count_gsm_and_unicode_texts_as_carriers_do() -> None:
    assert (sms_size("a" * 160).segments, sms_size("a" * 161).segments) == (1, 2)
    assert sms_size("a" * 306).segments == 2 and sms_size("a" * 307).segments == 3
    assert sms_size("ñ€" * 10).encoding == "GSM-7" and sms_size("€" * 80).segments == 1
    assert (sms_size("á" * 70).segments, sms_size("á" * 71).segments) == (1, 2)
    assert sms_size("á" * 71).encoding == "UCS-2" and sms_size("🙂" * 35).segments == 1
    assert sms_size("").segments == 0


# --- Changes reach the messages not sent yet ------------------------------------------------


def test_a_new_offset_re_plans_the_rule_s_pending_messages(api: Api, clinic: Clinic) -> None:
    appointment = clinic.book(MONDAY_10)
    other = clinic.book(MONDAY_10 + timedelta(days=1))
    confirmation_before = row(clinic.rules[0], appointment).send_at

    response = api.patch(reminder(clinic), {"offset": 1, "offset_unit": "hours"})

    assert response.status_code == 200, response.content
    for booked in (appointment, other):
        planned = row(reminder(clinic), booked)
        assert (planned.status, planned.send_at) == (
            MessageStatus.PENDING,
            booked.start - timedelta(hours=1),
        )
    assert (
        row(clinic.rules[0], appointment).send_at == confirmation_before
    )  # other rules: as they were
    shown = api.get(f"/api/v1/appointments/{appointment.pk}/messages/").json()
    assert MONDAY_10 - timedelta(hours=1) in {datetime.fromisoformat(m["send_at"]) for m in shown}


def test_a_re_planned_message_follows_quiet_hours_and_is_never_sent_late(
    api: Api, clinic: Clinic
) -> None:
    appointment = clinic.book(MONDAY_10)
    early = clinic.book(datetime(2026, 6, 9, 7, 30, tzinfo=MADRID))
    soon = clinic.book(BOOKED_AT + timedelta(hours=6))

    api.patch(reminder(clinic), {"offset": 13, "offset_unit": "hours"})

    # Sunday 21:00 is quiet: it goes when the quiet hours end, Monday 08:00, still before 10:00.
    assert row(reminder(clinic), appointment).send_at == MONDAY_10 - timedelta(hours=2)
    # For Tuesday 07:30: Monday 18:30. Two hours before, 05:30, the quiet hours would end
    # too late (08:00): a minute before they begin, Monday 20:59.
    assert row(reminder(clinic), early).send_at == datetime(2026, 6, 8, 18, 30, tzinfo=MADRID)
    # Today 12:00: 13 hours before has passed. Skipped, never sent late.
    late = row(reminder(clinic), soon)
    assert (late.status, late.status_reason) == (MessageStatus.SKIPPED, "too_late")
    api.patch(reminder(clinic), {"offset": 2, "offset_unit": "hours"})
    assert row(reminder(clinic), early).send_at == datetime(2026, 6, 8, 20, 59, tzinfo=MADRID)
    assert row(reminder(clinic), soon).status == MessageStatus.PENDING  # 10:00: now, in time


def test_messages_already_claimed_or_sent_are_left_alone(api: Api, clinic: Clinic) -> None:
    appointment = clinic.book(MONDAY_10)
    claimed = clinic.book(MONDAY_10 + timedelta(days=1))
    OutboundMessage.objects.filter(rule=reminder(clinic), appointment=claimed).update(
        status=MessageStatus.QUEUED
    )
    sent = clinic.book(MONDAY_10 + timedelta(days=2))
    OutboundMessage.objects.filter(rule=reminder(clinic), appointment=sent).update(
        status=MessageStatus.SENT
    )
    before = {
        m.pk: (m.status, m.send_at)
        for m in OutboundMessage.objects.filter(appointment__in=[claimed, sent])
    }

    api.patch(reminder(clinic), {"offset_minutes": 90, "channel": "sms_then_email"})

    after = {
        m.pk: (m.status, m.send_at)
        for m in OutboundMessage.objects.filter(appointment__in=[claimed, sent])
    }
    assert after == before
    moved = row(reminder(clinic), appointment)
    assert (moved.send_at, moved.fallback_to_email) == (MONDAY_10 - timedelta(minutes=90), True)


def test_deactivating_skips_the_pending_messages_and_reactivating_brings_them_back(
    api: Api, clinic: Clinic
) -> None:
    appointment = clinic.book(MONDAY_10)
    OutboundMessage.objects.exclude(rule=reminder(clinic)).delete()

    api.patch(reminder(clinic), {"is_active": False})
    planned = row(reminder(clinic), appointment)
    assert (planned.status, planned.status_reason) == (MessageStatus.SKIPPED, "rule_inactive")
    assert message_send_due(MONDAY_10 - timedelta(hours=24)) == []

    api.patch(reminder(clinic), {"is_active": True})
    planned = row(reminder(clinic), appointment)
    assert (planned.status, planned.send_at) == (
        MessageStatus.PENDING,
        MONDAY_10 - timedelta(hours=24),
    )


def test_only_if_unconfirmed_applies_to_appointments_already_confirmed(
    api: Api, clinic: Clinic
) -> None:
    appointment = clinic.book(MONDAY_10)
    appointment_confirm(appointment=appointment, actor=Actor.system(), now=BOOKED_AT)

    api.patch(reminder(clinic), {"only_if_unconfirmed": True})
    planned = row(reminder(clinic), appointment)
    assert (planned.status, planned.status_reason) == (MessageStatus.SKIPPED, "confirmed")

    api.patch(reminder(clinic), {"only_if_unconfirmed": False})
    assert row(reminder(clinic), appointment).status == MessageStatus.PENDING


def test_new_texts_are_used_by_messages_already_planned(api: Api, clinic: Clinic) -> None:
    clinic.book(MONDAY_10)
    OutboundMessage.objects.exclude(rule=reminder(clinic)).delete()
    planned_before = row(reminder(clinic)).send_at

    api.patch(reminder(clinic), {"texts": {"en": {"sms": "{client_name}, see you at {time}!"}}})

    assert row(reminder(clinic)).send_at == planned_before
    assert message_send_due(MONDAY_10 - timedelta(hours=24)) == ["sent"]
    assert ScriptedSMSBackend.sent[0].body == "Lucía, see you at 10:00!"


def test_a_new_rule_is_planned_for_appointments_already_booked(api: Api, clinic: Clinic) -> None:
    appointment = clinic.book(MONDAY_10)
    cancelled = clinic.book(MONDAY_10 + timedelta(hours=1))
    appointment_cancel(appointment=cancelled, actor=Actor.system(), reason="", now=BOOKED_AT)

    rule_id = api.post(NEW_RULE).json()["id"]

    planned = OutboundMessage.objects.get(rule_id=rule_id)
    assert (planned.appointment_id, planned.status, planned.send_at) == (
        appointment.pk,
        MessageStatus.PENDING,
        MONDAY_10 - timedelta(hours=2),
    )
    assert (planned.kind, planned.dedupe_key) == (MessageKind.RULE, f"rule:{rule_id}")


def test_a_new_inactive_rule_plans_nothing(api: Api, clinic: Clinic) -> None:
    clinic.book(MONDAY_10)
    rule_id = api.post({**NEW_RULE, "is_active": False}).json()["id"]
    assert not OutboundMessage.objects.filter(rule_id=rule_id).exists()


def test_deleting_a_rule_skips_what_it_had_planned_and_keeps_what_it_sent(
    api: Api, clinic: Clinic
) -> None:
    appointment = clinic.book(MONDAY_10)
    earlier = clinic.book(MONDAY_10 + timedelta(days=1))
    OutboundMessage.objects.filter(rule=reminder(clinic), appointment=earlier).update(
        status=MessageStatus.SENT
    )
    rule_pk = reminder(clinic).pk
    OutboundMessage.objects.exclude(rule=reminder(clinic)).delete()

    assert api.send("delete", f"{URL}{rule_pk}/", {}).status_code == 204

    assert not ReminderRule.objects.filter(pk=rule_pk).exists()
    rows = {
        m.appointment_id: m for m in OutboundMessage.objects.filter(dedupe_key=f"rule:{rule_pk}")
    }
    assert (rows[appointment.pk].status, rows[appointment.pk].status_reason) == (
        MessageStatus.SKIPPED,
        "rule_deleted",
    )
    assert rows[earlier.pk].status == MessageStatus.SENT
    assert message_send_due(MONDAY_10 - timedelta(hours=24)) == []


def test_another_business_rule_is_404_and_untouched(
    api: Api, clinic: Clinic, client: DjangoClient
) -> None:
    other = Clinic()
    other.scope.__exit__(None, None, None)
    theirs = other.rules[1]
    for method in ("get", "patch", "put", "delete"):
        response = api.send(method, f"{URL}{theirs.pk}/", {"offset_minutes": 5})
        assert response.status_code == 404
    assert api.get(f"{URL}{theirs.pk}/preview/").status_code == 404
    with scope(tenant=other.business):
        assert ReminderRule.objects.get(pk=theirs.pk).offset_minutes == 24 * 60


def test_put_replaces_the_rule(api: Api, clinic: Clinic) -> None:
    body = {**NEW_RULE, "name": "Reminder, 1 day", "offset": 1, "offset_unit": "days"}
    response = api.send("put", f"{URL}{reminder(clinic).pk}/", body)
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Reminder, 1 day"
    incomplete = api.send("put", f"{URL}{reminder(clinic).pk}/", {"name": "X"})
    assert incomplete.status_code == 400
    assert {"purpose", "channel"} <= set(incomplete.json()["errors"])


def message_send_due(now: datetime) -> list[str]:
    return [message_send(message_id=i, now=now) for i in messages_claim_due(now=now)]


# --- Previews ------------------------------------------------------------------------------


def test_a_saved_rule_previews_for_one_appointment_as_it_would_be_sent(
    api: Api, clinic: Clinic
) -> None:
    appointment = clinic.book(MONDAY_10)
    before = snapshot()

    response = api.get(
        f"{URL}{reminder(clinic).pk}/preview/", appointment=appointment.pk, language="es"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["sample"] is False and body["language"] == "es" and body["email"] is None
    sms = body["sms"]
    assert "te recordamos tu cita el lunes, 8 de junio de 2026 a las 10:00" in sms["text"]
    assert "/a/preview-" in sms["text"]  # a link that opens nothing
    assert (sms["characters"], sms["segments"], sms["encoding"]) == (
        len(sms["text"]),
        sms_size(sms["text"]).segments,
        sms_size(sms["text"]).encoding,
    )
    assert datetime.fromisoformat(body["send_at"]) == MONDAY_10 - timedelta(hours=24)
    assert body["not_sent_reason"] == ""
    assert snapshot() == before  # no link issued, nothing planned


def test_without_an_appointment_the_preview_uses_a_sample_one(api: Api, clinic: Clinic) -> None:
    body = api.get(f"{URL}{clinic.rules[0].pk}/preview/").json()
    assert body["sample"] is True and body["sms"] is None and body["send_at"] is None
    email = body["email"]
    assert email["subject"].startswith("Please confirm your appointment on")
    assert "Hello María" in email["text"] and "Check-up with Dr Ruiz" in email["text"]
    assert "September 30" in email["text"]
    assert "<a href=" in email["html"]


def test_a_draft_rule_previews_both_channels_before_it_is_saved(api: Api, clinic: Clinic) -> None:
    appointment = clinic.book(MONDAY_10)
    before = snapshot()
    draft = {
        "purpose": "confirmation_request",
        "channel": "sms_then_email",
        "offset": 2,
        "offset_unit": "days",
        "texts": {"en": {"sms": "{client_name}: {date} {time}? Reply 1 or 2. {manage_link}"}},
        "appointment": appointment.pk,
    }

    response = api.post(draft, path=f"{URL}preview/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["sms"]["text"].startswith("Lucía: Monday, June 8, 2026 10:00? Reply 1 or 2.")
    assert body["email"]["subject"] == "Please confirm your appointment on Monday, June 8, 2026"
    assert datetime.fromisoformat(body["send_at"]) == MONDAY_10 - timedelta(days=2)
    assert snapshot() == before


def test_a_draft_preview_refuses_bad_texts_and_foreign_appointments(
    api: Api, clinic: Clinic
) -> None:
    other = Clinic()
    theirs = other.book(MONDAY_10)
    other.scope.__exit__(None, None, None)
    base = {"purpose": "reminder", "channel": "sms"}
    bad = api.post({**base, "texts": {"en": {"sms": "Reply STOP"}}}, path=f"{URL}preview/")
    assert bad.status_code == 400 and "texts" in bad.json()["errors"]
    foreign = api.post({**base, "appointment": theirs.pk}, path=f"{URL}preview/")
    assert foreign.status_code == 400 and "appointment" in foreign.json()["errors"]
    assert other.client.name.encode() not in foreign.content
    query = api.get(f"{URL}{reminder(clinic).pk}/preview/", appointment=theirs.pk)
    assert query.status_code == 400 and "appointment" in query.json()["errors"]
    assert api.get(f"{URL}{reminder(clinic).pk}/preview/", language="fr").status_code == 400


def test_a_receptionist_reads_previews_but_only_admins_preview_drafts(
    client: DjangoClient, clinic: Clinic
) -> None:
    api = Api(client, clinic, ApiKeyRole.RECEPTIONIST)
    assert api.get(f"{URL}{reminder(clinic).pk}/preview/").status_code == 200
    draft = {"purpose": "reminder", "channel": "sms"}
    assert api.post(draft, path=f"{URL}preview/").status_code == 403


# --- The schema ------------------------------------------------------------------------------


def test_the_schema_documents_the_rules_without_a_warning() -> None:
    GENERATOR_STATS.reset()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert not GENERATOR_STATS, "drf-spectacular warned; run manage.py spectacular --validate"
    for path in (URL, f"{URL}{{id}}/", f"{URL}{{id}}/preview/", f"{URL}preview/"):
        assert f"/api/v1/reminder-rules/{path[len(URL) :]}" in schema["paths"]
