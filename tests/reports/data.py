"""A small hand-computed data set for the report: June 2026 of one business (Europe/Madrid,
UTC+2 in June). Every expected figure in the tests is worked out in the comments here.

Staff A works Monday-Friday 09:00-14:00 at location 1 (22 weekdays in June = 6,600 min) and
is off Monday 15 June 09:00-11:00 (-120 min): 6,480 min. Staff B works Mondays 09:00-13:00
at location 2 (5 Mondays = 1,200 min). Available: 7,680 min.

Clients: C1 attended in May (returning from the start of June); C2 never attends; C3 attends
on 4 June (new then, returning after).

| appt | client | staff | service | local start  | outcome                                           |
|------|--------|-------|---------|--------------|---------------------------------------------------|
| a1   | C1     | A     | S30     | Tue 2 10:00  | attended, confirmed 48 h before, wait 10, service 30, SMS reminder delivered, deposit 10 |
| a2   | C2     | A     | S30     | Wed 3 10:00  | no-show, confirmed 2 h before, SMS reminder failed, fee 15 charged and waived |
| a3   | C3     | A     | S60     | Thu 4 10:00  | attended, not confirmed, wait 20, service 60, email reminder sent |
| a4   | C1     | B     | S30     | Mon 8 09:00  | cancelled by client 72 h before; terms' window 96 h: late (terms' outcome late) |
| a5   | C2     | B     | S30     | Mon 8 10:00  | cancelled by client 10 h before; decision late=False: on time |
| a6   | C3     | A     | S30     | Tue 9 10:00  | cancelled by client 72 h before; decision late=True: late (terms' outcome late); credit 10 issued |
| a7   | C1     | A     | S30     | Wed 10 10:00 | cancelled by client 5 h before; no terms: default 48 h: late |
| a8   | C2     | A     | S30     | Thu 11 10:00 | cancelled by staff |
| a9   | C1     | A     | S60     | Fri 12 10:00 | attended, confirmed 30 h before, wait 40, service 60, SMS reminder pending; credit 5 used |
| a10  | C3     | B     | S30     | Mon 22 09:00 | no-show, confirmed 25 h before, booking confirmation email delivered (no reminder) |
| a11  | C2     | A     | S30     | Tue 16 10:00 | scheduled, never marked |
| a12  | C1     | B     | S30     | Mon 29 09:00 | cancelled by client 50 h before; no terms: default 48 h: on time |

Plus outside June: C1's May visit, and a July appointment with a deposit of 99.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django_scopes import scope

from appointments.models import Appointment, AppointmentStatus, CancelledBy, Source, TimeOff
from clients.models import Client
from policies.choices import Action, EntryKind, Outcome, Reason
from policies.models import AppointmentTerms, LedgerEntry, PolicyDecision
from reminders.models import Channel, MessageKind, MessageStatus, OutboundMessage
from tenants.models import Business, Location
from tests.factories import (
    BusinessFactory,
    ClientFactory,
    LocationFactory,
    ServiceFactory,
    staff_offering,
)

ZONE = zoneinfo.ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 7, 10, 12, 0, tzinfo=UTC)
JUNE = (date(2026, 6, 1), date(2026, 6, 30))


def local(day: int, hour: int, minute: int = 0, month: int = 6) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=ZONE)


@dataclass
class June:
    business: Business
    location1: Location
    location2: Location
    a: Any
    b: Any
    s30: Any
    s60: Any
    clients: dict[str, Client]
    appts: dict[str, Appointment]


def _appointment(world: dict[str, Any], name: str, **kwargs: Any) -> Appointment:
    service = kwargs.pop("service")
    start = kwargs.pop("start")
    staff = kwargs.pop("staff")
    end = start + timedelta(minutes=service.duration_minutes)
    appointment = Appointment.objects.create(
        tenant=world["business"],
        location=world["location_of"][staff.pk],
        staff=staff,
        service=service,
        client=kwargs.pop("client"),
        start=start,
        end=end,
        blocked_start=start,
        blocked_end=end,
        source=Source.DASHBOARD,
        price=service.price,
        **kwargs,
    )
    world["appts"][name] = appointment
    return appointment


def _terms(appointment: Appointment, *, window_hours: int, outcome: str) -> None:
    AppointmentTerms.objects.create(
        tenant=appointment.tenant,
        appointment=appointment,
        terms={"cancellation_window_hours": window_hours},
        currency="EUR",
        outcome=outcome,
    )


def _decision(appointment: Appointment, *, late: bool) -> None:
    PolicyDecision.objects.create(
        tenant=appointment.tenant,
        appointment=appointment,
        action=Action.CANCEL_BY_CLIENT,
        reason_code=Reason.LATE if late else Reason.ON_TIME,
        late=late,
        actor_type="client",
        channel="online",
        at=appointment.cancelled_at or appointment.start,
    )


def _message(appointment: Appointment, kind: str, channel: str, status: str) -> None:
    OutboundMessage.objects.create(
        tenant=appointment.tenant,
        appointment=appointment,
        kind=kind,
        dedupe_key=f"{kind}:{channel}",
        channel=channel,
        to="x",
        send_at=appointment.start - timedelta(hours=24),
        status=status,
    )


def _money(appointment: Appointment, kind: str, amount: str) -> None:
    LedgerEntry.objects.create(
        tenant=appointment.tenant,
        client=appointment.client,
        appointment=appointment,
        kind=kind,
        amount=Decimal(amount),
        currency="EUR",
        actor_type="system",
        channel="system",
    )


def build_june(business: Business | None = None) -> June:
    business = business or BusinessFactory(timezone="Europe/Madrid")
    with scope(tenant=business):
        location1 = LocationFactory(tenant=business, name="Centro")
        location2 = LocationFactory(tenant=business, name="Norte")
        s30 = ServiceFactory(tenant=business, name="Corte", duration_minutes=30)
        s60 = ServiceFactory(tenant=business, name="Color", duration_minutes=60)
        a = staff_offering(
            tenant=business,
            location=location1,
            services=[s30, s60],
            hours=((time(9), time(14)),),
            display_name="Ana",
        )
        b = staff_offering(
            tenant=business,
            location=location2,
            services=[s30],
            hours=((time(9), time(13)),),
            weekdays=range(1),
            display_name="Bruno",
        )
        TimeOff.objects.create(tenant=business, staff=a, start=local(15, 9), end=local(15, 11))
        clients: dict[str, Client] = {
            name: ClientFactory(tenant=business, name=name) for name in ("C1", "C2", "C3")
        }
        world: dict[str, Any] = {
            "business": business,
            "location_of": {a.pk: location1, b.pk: location2},
            "appts": {},
        }
        st = AppointmentStatus
        c1, c2, c3 = clients["C1"], clients["C2"], clients["C3"]
        _appointment(
            world,
            "may",
            client=c1,
            staff=a,
            service=s30,
            start=local(20, 10, month=5),
            status=st.ATTENDED,
        )
        a1 = _appointment(
            world,
            "a1",
            client=c1,
            staff=a,
            service=s30,
            start=local(2, 10),
            status=st.ATTENDED,
            confirmed_at=local(2, 10) - timedelta(hours=48),
            arrived_at=local(2, 9, 55),
            started_at=local(2, 10, 5),
            finished_at=local(2, 10, 35),
        )
        a2 = _appointment(
            world,
            "a2",
            client=c2,
            staff=a,
            service=s30,
            start=local(3, 10),
            status=st.NO_SHOW,
            confirmed_at=local(3, 8),
        )
        a3 = _appointment(
            world,
            "a3",
            client=c3,
            staff=a,
            service=s60,
            start=local(4, 10),
            status=st.ATTENDED,
            arrived_at=local(4, 10),
            started_at=local(4, 10, 20),
            finished_at=local(4, 11, 20),
        )
        cancelled = {"status": st.CANCELLED, "cancelled_by": CancelledBy.CLIENT}
        a4 = _appointment(
            world,
            "a4",
            client=c1,
            staff=b,
            service=s30,
            start=local(8, 9),
            cancelled_at=local(5, 9),
            **cancelled,
        )
        _terms(a4, window_hours=96, outcome=Outcome.CANCELLED_LATE)
        a5 = _appointment(
            world,
            "a5",
            client=c2,
            staff=b,
            service=s30,
            start=local(8, 10),
            cancelled_at=local(8, 0),
            **cancelled,
        )
        _decision(a5, late=False)
        a6 = _appointment(
            world,
            "a6",
            client=c3,
            staff=a,
            service=s30,
            start=local(9, 10),
            cancelled_at=local(6, 10),
            **cancelled,
        )
        _decision(a6, late=True)
        _terms(a6, window_hours=48, outcome=Outcome.CANCELLED_LATE)
        _appointment(
            world,
            "a7",
            client=c1,
            staff=a,
            service=s30,
            start=local(10, 10),
            cancelled_at=local(10, 5),
            **cancelled,
        )
        _appointment(
            world,
            "a8",
            client=c2,
            staff=a,
            service=s30,
            start=local(11, 10),
            status=st.CANCELLED,
            cancelled_by=CancelledBy.STAFF,
            cancelled_at=local(10, 12),
        )
        a9 = _appointment(
            world,
            "a9",
            client=c1,
            staff=a,
            service=s60,
            start=local(12, 10),
            status=st.ATTENDED,
            confirmed_at=local(11, 4),
            arrived_at=local(12, 9, 50),
            started_at=local(12, 10, 30),
            finished_at=local(12, 11, 30),
        )
        a10 = _appointment(
            world,
            "a10",
            client=c3,
            staff=b,
            service=s30,
            start=local(22, 9),
            status=st.NO_SHOW,
            confirmed_at=local(21, 8),
        )
        _appointment(world, "a11", client=c2, staff=a, service=s30, start=local(16, 10))
        _appointment(
            world,
            "a12",
            client=c1,
            staff=b,
            service=s30,
            start=local(29, 9),
            cancelled_at=local(27, 7),
            **cancelled,
        )
        july = _appointment(
            world, "july", client=c2, staff=a, service=s30, start=local(1, 10, month=7)
        )
        _message(a1, MessageKind.RULE, Channel.SMS, MessageStatus.DELIVERED)
        _message(a2, MessageKind.RULE, Channel.SMS, MessageStatus.FAILED)
        _message(a3, MessageKind.RULE, Channel.EMAIL, MessageStatus.SENT)
        _message(a9, MessageKind.RULE, Channel.SMS, MessageStatus.PENDING)
        _message(a10, MessageKind.BOOKING_CONFIRMATION, Channel.EMAIL, MessageStatus.DELIVERED)
        _money(a1, EntryKind.DEPOSIT_PAID, "10.00")
        _money(a2, EntryKind.FEE_CHARGED, "15.00")
        _money(a2, EntryKind.FEE_WAIVED, "15.00")
        _money(a6, EntryKind.CREDIT_ISSUED, "10.00")
        _money(a9, EntryKind.CREDIT_USED, "5.00")
        _money(july, EntryKind.DEPOSIT_PAID, "99.00")
    return June(
        business=business,
        location1=location1,
        location2=location2,
        a=a,
        b=b,
        s30=s30,
        s60=s60,
        clients=clients,
        appts=world["appts"],
    )
