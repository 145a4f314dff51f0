"""The waitlist: clients wait for a time of a service; a cancellation offers the freed time
to those whose wishes match; the first to claim it through their link gets the appointment.

Claiming locks the freed slot's row (PostgreSQL row lock; SQLite serialises writers), so of
two clients claiming at once exactly one books; the other is told it is already taken and
stays on the list. The booking itself goes through `appointment_book`, whose own guarantee
also refuses the time if anyone else booked it meanwhile.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_scopes import scopes_disabled

from appointments.errors import SchedulingError, SlotTaken
from appointments.models import (
    Appointment,
    AppointmentStatus,
    Channel,
    Service,
    Source,
    StaffMember,
    StaffService,
)
from appointments.selectors import slot_refusal
from appointments.services import Actor, appointment_book
from clients.models import Client
from hooks.events import WebhookEvent
from hooks.services import enqueue as webhook_enqueue
from reminders.links import link_issue
from reminders.models import AccessAction
from selfservice.models import (
    FreedSlot,
    OfferStatus,
    PartOfDay,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistSource,
    WaitlistStatus,
    hash_token,
    new_token,
)
from tenants.models import Business, Location

# Offers per freed slot: the longest-waiting matching clients. More would spam people for a
# single time only one of them can get.
MAX_OFFERS_PER_SLOT = 10
AFTERNOON_FROM, EVENING_FROM = time(12), time(17)


class OfferExpired(SchedulingError):
    code = "offer_expired"
    default_message = gettext_lazy("This offer has expired. You are still on the waitlist.")
    http_status = 410


class AlreadyTaken(SlotTaken):
    code = "offer_taken"
    default_message = gettext_lazy(
        "Sorry, someone else took this time first. You are still on the waitlist."
    )


def offer_lifetime() -> timedelta:
    return timedelta(hours=float(getattr(settings, "SELFSERVICE_OFFER_HOURS", 2)))


def part_of_day(moment: time) -> str:
    if moment < AFTERNOON_FROM:
        return str(PartOfDay.MORNING)
    if moment < EVENING_FROM:
        return str(PartOfDay.AFTERNOON)
    return str(PartOfDay.EVENING)


def _clean_wishes(
    weekdays: Iterable[int], parts_of_day: Iterable[str]
) -> tuple[list[int], list[str]]:
    days = sorted({int(day) for day in weekdays})
    parts = sorted({str(part) for part in parts_of_day})
    errors: dict[str, list[str]] = {}
    if any(day < 0 or day > 6 for day in days):
        errors["weekdays"] = [_("Days of the week are numbers from 0 (Monday) to 6 (Sunday).")]
    if any(part not in PartOfDay.values for part in parts):
        errors["parts_of_day"] = [_("Choose morning, afternoon or evening.")]
    if errors:
        raise ValidationError(errors)
    return days, parts


def waitlist_join(
    *,
    tenant: Business,
    client: Client,
    service: Service,
    staff: StaffMember | None = None,
    location: Location | None = None,
    weekdays: Iterable[int] = (),
    parts_of_day: Iterable[str] = (),
    source: str = WaitlistSource.ONLINE,
    now: datetime,
) -> WaitlistEntry:
    """Put the client on the waitlist (or update their wishes if they already wait for this
    service and staff member). Raises ValidationError for a choice the business does not offer."""
    days, parts = _clean_wishes(weekdays, parts_of_day)
    for obj in (client, service, staff, location):
        if obj is not None and obj.tenant_id != tenant.pk:
            raise ValidationError(_("Choose a service, staff member and location of the business."))
    if not service.is_active:
        raise ValidationError({"service": [_("This service is not offered any more.")]})
    if (
        staff is not None
        and not StaffService.objects.filter(tenant=tenant, staff=staff, service=service).exists()
    ):
        raise ValidationError({"staff": [_("This staff member does not perform this service.")]})
    with transaction.atomic():
        entry = (
            WaitlistEntry.objects.select_for_update()
            .filter(
                tenant=tenant,
                client=client,
                service=service,
                staff=staff,
                status=WaitlistStatus.WAITING,
            )
            .first()
        )
        if entry is None:
            entry = WaitlistEntry(
                tenant=tenant,
                client=client,
                service=service,
                staff=staff,
                source=source,
                created_at=now,
            )
        entry.location, entry.weekdays, entry.parts_of_day = location, days, parts
        entry.save()
    return entry


def waitlist_remove(*, entry: WaitlistEntry) -> None:
    WaitlistEntry.objects.filter(pk=entry.pk, tenant_id=entry.tenant_id).update(
        status=WaitlistStatus.REMOVED
    )


def entry_wants(entry: WaitlistEntry, slot: FreedSlot, tz: zoneinfo.ZoneInfo) -> bool:
    """Whether the freed time suits the client's wishes (in the location's wall time)."""
    local = slot.start.astimezone(tz)
    return (
        entry.service_id == slot.service_id
        and entry.staff_id in (None, slot.staff_id)
        and entry.location_id in (None, slot.location_id)
        and (not entry.weekdays or local.weekday() in entry.weekdays)
        and (not entry.parts_of_day or part_of_day(local.time()) in entry.parts_of_day)
    )


def waitlist_slot_freed(*, appointment_id: int, now: datetime) -> FreedSlot | None:
    """Offer a cancelled appointment's time to the matching waiting clients (once per
    appointment, however often it is called). Runs after the cancellation committed.

    Nothing is offered for a time already past, or one clients could not book online now
    (too soon, outside the booking window, or booked again meanwhile).
    """
    with scopes_disabled():
        appointment = (
            Appointment.objects.select_related("tenant", "location", "service", "staff")
            .filter(pk=appointment_id, status=AppointmentStatus.CANCELLED)
            .first()
        )
        if appointment is None or appointment.start <= now:
            return None
        tenant = appointment.tenant
        refusal = slot_refusal(
            tenant=tenant,
            service=appointment.service,
            location=appointment.location,
            staff=appointment.staff,
            start=appointment.start,
            now=now,
            on_grid=True,  # claims book as the online page does: on the offered grid
            booking_window=True,
        )
        if refusal is not None:
            return None
        with transaction.atomic():
            slot, created = FreedSlot.objects.get_or_create(
                tenant=tenant,
                cancelled_appointment=appointment,
                defaults={
                    "location": appointment.location,
                    "staff": appointment.staff,
                    "service": appointment.service,
                    "start": appointment.start,
                    "freed_at": now,
                },
            )
            if not created:
                return slot
            tz = zoneinfo.ZoneInfo(appointment.location.timezone)
            candidates = (
                WaitlistEntry.objects.filter(
                    tenant=tenant, status=WaitlistStatus.WAITING, service=appointment.service
                )
                .filter(Q(staff__isnull=True) | Q(staff=appointment.staff))
                .exclude(client_id=appointment.client_id)
                .order_by("created_at", "id")
            )
            chosen = [entry for entry in candidates if entry_wants(entry, slot, tz)]
            expires = min(now + offer_lifetime(), appointment.start)
            WaitlistOffer.objects.bulk_create(
                WaitlistOffer(
                    tenant=tenant,
                    slot=slot,
                    entry=entry,
                    # A placeholder nobody knows: the real token is made when the offer is sent.
                    token_hash=hash_token(new_token()),
                    send_at=now,
                    expires_at=expires,
                    created_at=now,
                )
                for entry in chosen[:MAX_OFFERS_PER_SLOT]
            )
    return slot


def offer_by_token(*, token: str) -> WaitlistOffer | None:
    """The offer behind a link, in the active business (any state: the page says which)."""
    if not token or len(token) > 64:
        return None
    return (
        WaitlistOffer.objects.filter(token_hash=hash_token(token))
        .select_related("slot__location", "slot__service", "slot__staff", "entry__client", "tenant")
        .first()
    )


def offer_state(offer: WaitlistOffer, now: datetime) -> str:
    """ "claimed" (by this client), "taken" (by another), "expired", or "open"."""
    if offer.status == OfferStatus.CLAIMED:
        return "claimed"
    if offer.slot.refilled_by_id is not None:
        return "taken"
    if offer.expires_at <= now or offer.entry.status != WaitlistStatus.WAITING:
        return "expired"
    return "open"


def waitlist_offer_claim(*, offer: WaitlistOffer, now: datetime) -> tuple[Appointment, str]:
    """Book the offered time for the offer's client, if nobody claimed it first.

    Returns the appointment and a raw manage-link token (the same appointment again when its
    own client claims twice). Raises AlreadyTaken (another client claimed it, or the time was
    booked otherwise), OfferExpired, or the booking's error.
    """
    with transaction.atomic():
        slot = FreedSlot.objects.select_for_update().get(
            pk=offer.slot_id, tenant_id=offer.tenant_id
        )
        locked = WaitlistOffer.objects.select_for_update().get(pk=offer.pk)
        entry = WaitlistEntry.objects.select_for_update().get(pk=locked.entry_id)
        if locked.status == OfferStatus.CLAIMED and entry.booked_appointment is not None:
            # The winner again (a double tap, a browser retry): their booking, a fresh link.
            booked = entry.booked_appointment
            return booked, link_issue(appointment=booked, action=AccessAction.MANAGE, now=now)
        if slot.refilled_by_id is not None:
            raise AlreadyTaken
        if locked.expires_at <= now or entry.status != WaitlistStatus.WAITING:
            raise OfferExpired
        try:
            with transaction.atomic():
                appointment = appointment_book(
                    tenant=offer.tenant,
                    location=slot.location,
                    staff=slot.staff,
                    service=slot.service,
                    client=entry.client,
                    start=slot.start,
                    source=Source.ONLINE,
                    actor=Actor.client(Channel.ONLINE),
                    notes=_("Booked from the waitlist."),
                    now=now,
                )
        except SlotTaken as exc:
            raise AlreadyTaken from exc
        slot.refilled_by, slot.refilled_at = appointment, now
        slot.save(update_fields=["refilled_by", "refilled_at"])
        locked.status, locked.claimed_at = OfferStatus.CLAIMED, now
        locked.save(update_fields=["status", "claimed_at"])
        entry.status, entry.booked_appointment = WaitlistStatus.BOOKED, appointment
        entry.save(update_fields=["status", "booked_appointment"])
        webhook_enqueue(
            tenant_id=offer.tenant_id,
            event_type=WebhookEvent.WAITLIST_CLAIMED,
            key=f"waitlist-claim:{locked.pk}",
            data=lambda: {
                "waitlist_entry": entry.pk,
                "offer": locked.pk,
                "appointment": appointment.pk,
                "freed_from_appointment": slot.cancelled_appointment_id,
                "client": entry.client_id,
                "start": slot.start.isoformat(),
                "claimed_at": now.isoformat(),
            },
            at=now,
        )
        token = link_issue(appointment=appointment, action=AccessAction.MANAGE, now=now)
    return appointment, token
