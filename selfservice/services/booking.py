"""Booking by the client, from the public page: the same booking service as every channel,
with the client found by phone or email (never duplicated) and a link to their appointment."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from appointments.models import Appointment, Channel, Service, Source, StaffMember
from appointments.services import Actor, appointment_book_any
from appointments.services.approval import approval_required
from clients.models import Client
from clients.services import client_find_or_create
from reminders.links import link_issue
from reminders.models import AccessAction
from tenants.models import Business, Location


def client_for_self_service(
    *,
    tenant: Business,
    name: str,
    phone: str,
    email: str,
    sms_consent: bool,
    email_consent: bool,
    language: str,
) -> Client:
    """The business's client with this phone or email, else a new one.

    A returning client keeps their record: consent they give now is added (never taken away
    by an unticked box), and an address they did not have yet is filled in.
    """
    client = client_find_or_create(
        tenant=tenant,
        name=name,
        phone=phone,
        email=email,
        language=language,
        sms_consent=sms_consent,
        email_consent=email_consent,
    )
    changed: list[str] = []
    if sms_consent and not client.sms_consent:
        client.sms_consent = True
        changed.append("sms_consent")
    if email_consent and not client.email_consent:
        client.email_consent = True
        changed.append("email_consent")
    email = email.strip().lower()
    if (
        email
        and not client.email
        and not Client.objects.filter(tenant=tenant, email=email).exists()
    ):
        client.email = email
        changed.append("email")
    if changed:
        client.save(update_fields=changed)
    return client


def self_service_book(
    *,
    tenant: Business,
    location: Location,
    service: Service,
    staff: StaffMember | None,
    start: datetime,
    name: str,
    phone: str,
    email: str,
    sms_consent: bool,
    email_consent: bool,
    language: str,
    now: datetime,
) -> tuple[Appointment, str]:
    """Book for the client as themselves; returns the appointment and a raw manage-link token.

    When the business approves new clients and this one is new, the appointment is a request
    ("requested") until the business accepts it (appointments.services.approval).

    Raises the booking's SchedulingError (SlotTaken when the time went meanwhile) or a
    ValidationError for contact data; nothing is written then (not even the client).
    """
    with transaction.atomic():
        client = client_for_self_service(
            tenant=tenant,
            name=name,
            phone=phone,
            email=email,
            sms_consent=sms_consent,
            email_consent=email_consent,
            language=language,
        )
        appointment = appointment_book_any(
            tenant=tenant,
            location=location,
            service=service,
            staff=staff,
            client=client,
            start=start,
            source=Source.ONLINE,
            actor=Actor.client(Channel.ONLINE),
            now=now,
            # A client the business does not know yet waits for its approval, if it asks for it.
            as_request=approval_required(tenant=tenant, client=client),
        )
        token = link_issue(appointment=appointment, action=AccessAction.MANAGE, now=now)
    return appointment, token
