"""A business with a client and an upcoming appointment, and signed Twilio requests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.test import Client as DjangoClient
from django_scopes import scope
from twilio.request_validator import RequestValidator

from appointments.models import Appointment, Source
from appointments.services import Actor, appointment_book
from clients.models import Client
from reminders.models import Channel, MessageKind, MessageStatus, OutboundMessage
from tenants.models import Business
from tests.factories import (
    BusinessFactory,
    ClientFactory,
    LocationFactory,
    ServiceFactory,
    staff_offering,
)

NOW = datetime(2026, 5, 28, 8, 0, tzinfo=UTC)  # a Thursday
START = datetime(2026, 6, 2, 8, 0, tzinfo=UTC)  # Tuesday 10:00 in Madrid
TWILIO_TOKEN = "test-twilio-auth-token"
BASE_URL = "https://puntual.example.com"


def new_sid() -> str:
    return f"SM{uuid.uuid4().hex}"


@dataclass
class Shop:
    business: Business
    client: Client
    appointment: Appointment

    def reload(self) -> Shop:
        with scope(tenant=self.business):
            self.client.refresh_from_db()
            self.appointment.refresh_from_db()
        return self

    def outbound(self, **kwargs: Any) -> OutboundMessage:
        values: dict[str, Any] = {
            "tenant": self.business,
            "appointment": self.appointment,
            "kind": MessageKind.BOOKING_CONFIRMATION,
            "dedupe_key": f"test:{uuid.uuid4().hex[:8]}",
            "channel": Channel.SMS,
            "to": self.client.phone,
            "send_at": NOW,
            "status": MessageStatus.SENT,
            "provider_id": new_sid(),
            "sent_at": NOW,
        }
        values.update(kwargs)
        with scope(tenant=self.business):
            return OutboundMessage.objects.create(**values)


def make_shop(
    *,
    name: str = "Peluquería Sol",
    phone: str = "+34911222333",
    client_language: str = "",
    **kw: Any,
) -> Shop:
    business = BusinessFactory(name=name, phone=phone, language="es", **kw)
    with scope(tenant=business):
        location = LocationFactory(tenant=business)
        service = ServiceFactory(tenant=business)
        staff = staff_offering(tenant=business, location=location, services=[service])
        client = ClientFactory(tenant=business, language=client_language)
        appointment = appointment_book(
            tenant=business,
            location=location,
            staff=staff,
            service=service,
            client=client,
            start=START,
            source=Source.DASHBOARD,
            actor=Actor.system(),
            now=NOW - timedelta(days=3),
        )
    return Shop(business=business, client=client, appointment=appointment)


def sign(
    path: str, params: dict[str, str], *, token: str = TWILIO_TOKEN, base: str = BASE_URL
) -> str:
    return str(RequestValidator(token).compute_signature(base + path, params))


def post_twilio(
    http: DjangoClient, path: str, params: dict[str, str], *, signature: str | None = None
) -> Any:
    return http.post(
        path,
        params,
        HTTP_X_TWILIO_SIGNATURE=sign(path, params) if signature is None else signature,
    )
