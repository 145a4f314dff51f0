"""The benchmark's data: one business, 20 staff, 10 services, 20,000 appointments over 60 days.

Deterministic: the same `random.Random` seed always yields the same rows, placed relative to
the anchor, the Monday of the current week (business time). A seed is reused while its
anchor is this week's Monday; in a new week the database is dropped and seeded again, so
that the appointments always lie ahead of now, as the booking window needs.

Days from the anchor:
- 0-59: the seeded appointments (the availability benchmarks read days 0-29);
- 63-67: kept free for `booking_service`;
- 70-88: kept free for `booking_http` (inside the 90-day booking window of the business).
Whatever starts after day 60 was booked by a benchmark and is deleted by `delete_bench_bookings`.
"""

from __future__ import annotations

import logging
import random
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from appointments.models import (
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    BookingRules,
    CancelledBy,
    EventKind,
    Service,
    Source,
    StaffLocation,
    StaffMember,
    StaffService,
    TimeOff,
    WorkingHours,
)
from clients.models import Client
from reminders.models import OutboundMessage
from tenants.models import Business, Location
from tenants.services import business_create

log = logging.getLogger("benchmarks")

SEED_VERSION = 2
SLUG = f"bench-v{SEED_VERSION}"
RANDOM_SEED = 20_240_601
TIMEZONE = "Europe/Madrid"
STAFF_COUNT = 20
CLIENT_COUNT = 2_000
APPOINTMENT_COUNT = 20_000
SEEDED_DAYS = 60
VACATION_DAYS = 2  # every staff member is away two weekdays in a row, somewhere in the range
HOURS = ((time(9), time(13)), (time(14), time(18)))  # Monday to Friday, lunch 13:00-14:00
WEEKDAYS = range(5)
MAX_ADVANCE_DAYS = 90  # the business takes bookings three months ahead
SERVICE_BOOKING_DAYS = (63, 68)  # [first, last) day offsets for booking_service
HTTP_BOOKING_DAYS = (70, 89)  # [first, last) day offsets for booking_http


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    minutes: int
    before: int
    after: int
    weight: float  # how often the seed books it

    @property
    def blocked(self) -> int:
        return self.before + self.minutes + self.after


# 20,000 appointments for 20 people in 44 working days is ~24 a day each: a busy clinic of
# short visits, about 80% of the working time booked.
SERVICES = (
    ServiceSpec("Consultation", 30, 0, 0, 1.0),
    ServiceSpec("Quick check", 10, 0, 0, 4.0),
    ServiceSpec("Follow-up", 15, 0, 0, 5.0),
    ServiceSpec("Blood test", 10, 0, 5, 3.0),
    ServiceSpec("Vaccination", 15, 0, 0, 3.0),
    ServiceSpec("Review", 20, 0, 0, 2.0),
    ServiceSpec("Therapy", 45, 0, 15, 0.2),
    ServiceSpec("Treatment", 60, 0, 0, 0.1),
    ServiceSpec("Assessment", 30, 10, 0, 0.3),
    ServiceSpec("Dressing", 15, 0, 5, 2.0),
)
AVAILABILITY_SERVICE = "Consultation"
BOOKING_SERVICE = "Follow-up"


@dataclass(frozen=True)
class Seed:
    business: Business
    location: Location
    anchor: date  # a Monday: day 0
    now: datetime  # the fixed "now" of the availability benchmarks: day 0, 07:00 local
    staff_ids: list[int]
    service_ids: dict[str, int]
    client_ids: list[int]

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(TIMEZONE)

    def day(self, offset: int) -> date:
        return self.anchor + timedelta(days=offset)

    def local(self, offset: int, at: time) -> datetime:
        return datetime.combine(self.day(offset), at, tzinfo=self.tz)

    def fits(self, start: datetime, minutes: int) -> bool:
        """Whether [start, start + minutes) lies inside one stretch of working hours."""
        local = start.astimezone(self.tz)
        end = (local + timedelta(minutes=minutes)).time()
        return local.weekday() in WEEKDAYS and any(
            opens <= local.time() and end <= closes for opens, closes in HOURS
        )

    def starts(self, days: tuple[int, int], step_minutes: int, minutes: int) -> Iterator[datetime]:
        """Every start on the `step_minutes` grid at which `minutes` fit in the working hours,
        on the weekdays of the day offsets [first, last)."""
        for offset in range(*days):
            if self.day(offset).weekday() not in WEEKDAYS:
                continue
            for opens, closes in HOURS:
                start = self.local(offset, opens)
                while start + timedelta(minutes=minutes) <= self.local(offset, closes):
                    yield start
                    start += timedelta(minutes=step_minutes)


def current_anchor() -> date:
    today = timezone.now().astimezone(zoneinfo.ZoneInfo(TIMEZONE)).date()
    return today - timedelta(days=today.weekday())


def migrate() -> None:
    call_command("migrate", interactive=False, verbosity=0)


def load_seed() -> tuple[Seed | None, str]:
    """The seed in the database if it is complete and current, else None and why not."""
    with scopes_disabled():
        business = Business.objects.filter(slug=SLUG).first()
        if business is None:
            return None, "no seed"
        anchor = business.created_at.astimezone(zoneinfo.ZoneInfo(TIMEZONE)).date()
        if anchor != current_anchor():
            return None, f"the seed is of the week of {anchor}"
        seed = _seed_for(business, anchor)
        seeded = Appointment.objects.filter(
            tenant=business, start__lt=seed.local(SEEDED_DAYS, time.min)
        ).count()
        if seeded != APPOINTMENT_COUNT or len(seed.staff_ids) != STAFF_COUNT:
            return None, f"the seed is incomplete ({seeded} appointments)"
        return seed, "reused"


def _seed_for(business: Business, anchor: date) -> Seed:
    with scope(tenant=business):
        location = Location.objects.get(tenant=business)
        staff_ids = list(
            StaffMember.objects.filter(tenant=business).order_by("pk").values_list("pk", flat=True)
        )
        service_ids = dict(Service.objects.filter(tenant=business).values_list("name", "pk"))
        client_ids = list(
            Client.objects.filter(tenant=business).order_by("pk").values_list("pk", flat=True)
        )
    tz = zoneinfo.ZoneInfo(TIMEZONE)
    return Seed(
        business=business,
        location=location,
        anchor=anchor,
        now=datetime.combine(anchor, time(7), tzinfo=tz),
        staff_ids=staff_ids,
        service_ids=service_ids,
        client_ids=client_ids,
    )


def create_seed() -> Seed:
    anchor = current_anchor()
    log.info("seeding %s appointments from %s", APPOINTMENT_COUNT, anchor)
    tz = zoneinfo.ZoneInfo(TIMEZONE)
    rng = random.Random(RANDOM_SEED)  # noqa: S311 - reproducible data, not secrets
    with transaction.atomic():
        business, _owner, _created = business_create(
            name="Puntual Bench",
            slug=SLUG,
            timezone_name=TIMEZONE,
            owner_email="owner@bench.puntual.test",
            language="en",
        )
        # The anchor is kept as the business's creation time: it tells which week it is of.
        business.created_at = datetime.combine(anchor, time.min, tzinfo=tz)
        business.save(update_fields=["created_at"])
        with scope(tenant=business):
            _create_rows(business, anchor, rng)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    seed, reason = load_seed()
    if seed is None:
        raise RuntimeError(f"The new seed does not load: {reason}.")
    return seed


def _create_rows(business: Business, anchor: date, rng: random.Random) -> None:
    tz = zoneinfo.ZoneInfo(TIMEZONE)
    location = Location.objects.get(tenant=business)
    BookingRules.objects.create(
        tenant=business, min_notice_minutes=120, max_advance_days=MAX_ADVANCE_DAYS
    )
    services = Service.objects.bulk_create(
        Service(
            tenant=business,
            name=spec.name,
            duration_minutes=spec.minutes,
            buffer_before_minutes=spec.before,
            buffer_after_minutes=spec.after,
            price=Decimal(20 + spec.minutes),
        )
        for spec in SERVICES
    )
    staff = StaffMember.objects.bulk_create(
        StaffMember(tenant=business, display_name=f"Staff {i + 1:02d}") for i in range(STAFF_COUNT)
    )
    StaffLocation.objects.bulk_create(
        StaffLocation(tenant=business, staff=member, location=location) for member in staff
    )
    StaffService.objects.bulk_create(
        StaffService(tenant=business, staff=member, service=service)
        for member in staff
        for service in services
    )
    WorkingHours.objects.bulk_create(
        WorkingHours(
            tenant=business,
            staff=member,
            location=location,
            weekday=weekday,
            start_time=opens,
            end_time=closes,
        )
        for member in staff
        for weekday in WEEKDAYS
        for opens, closes in HOURS
    )
    clients = Client.objects.bulk_create(
        Client(
            tenant=business,
            name=f"Client {i + 1:04d}",
            phone=f"+3460{i + 1:07d}",
            email=f"client{i + 1}@bench.puntual.test",
            sms_consent=True,
            email_consent=True,
        )
        for i in range(CLIENT_COUNT)
    )

    workdays = [
        anchor + timedelta(days=offset)
        for offset in range(SEEDED_DAYS)
        if (anchor + timedelta(days=offset)).weekday() in WEEKDAYS
    ]
    # A vacation: two consecutive weekdays (Monday-Thursday start), after the first week.
    vacation: dict[int, set[date]] = {}
    time_off: list[TimeOff] = []
    for member in staff:
        first = rng.choice([d for d in workdays[5:] if d.weekday() <= 3])
        days = {first + timedelta(days=i) for i in range(VACATION_DAYS)}
        vacation[member.pk] = days
        time_off.append(
            TimeOff(
                tenant=business,
                staff=member,
                start=datetime.combine(first, time.min, tzinfo=tz),
                end=datetime.combine(first + timedelta(days=VACATION_DAYS), time.min, tzinfo=tz),
                reason="Vacation",
            )
        )
    TimeOff.objects.bulk_create(time_off)

    staff_days = [
        (member, day) for member in staff for day in workdays if day not in vacation[member.pk]
    ]
    base, extra = divmod(APPOINTMENT_COUNT, len(staff_days))
    lucky = set(rng.sample(range(len(staff_days)), extra))
    weights = [spec.weight for spec in SERVICES]
    by_name = {service.name: service for service in services}
    appointments: list[Appointment] = []
    for index, (member, day) in enumerate(staff_days):
        count = base + (index in lucky)
        halves = (count // 2, count - count // 2)
        for (opens, closes), in_half in zip(HOURS, halves, strict=True):
            capacity = _minutes(closes) - _minutes(opens)
            picks = rng.choices(SERVICES, weights=weights, k=in_half)
            shortest = min(SERVICES, key=lambda spec: spec.blocked)
            while sum(spec.blocked for spec in picks) > capacity:
                picks[picks.index(max(picks, key=lambda spec: spec.blocked))] = shortest
            # The free time falls in quarter hours between visits, plus a few 5-minute breaks.
            quarters, rest = divmod(capacity - sum(spec.blocked for spec in picks), 15)
            gaps = [0] * (in_half + 1)
            for minutes in [15] * quarters + [5] * (rest // 5):
                gaps[rng.randrange(in_half + 1)] += minutes
            cursor = datetime.combine(day, opens, tzinfo=tz)
            for spec, gap in zip(picks, gaps, strict=False):
                cursor += timedelta(minutes=gap)
                appointments.append(
                    _appointment(
                        business, location, member, by_name[spec.name], spec, cursor, clients, rng
                    )
                )
                cursor += timedelta(minutes=spec.blocked)
    Appointment.objects.bulk_create(appointments, batch_size=2_000)
    AppointmentEvent.objects.bulk_create(
        (
            AppointmentEvent(
                tenant=business,
                appointment=appointment,
                kind=EventKind.CREATED,
                to_status=AppointmentStatus.SCHEDULED,
                actor_type="client" if appointment.source == Source.ONLINE else "user",
                actor_label="seed",
                channel=appointment.source,
                at=appointment.created_at,
            )
            for appointment in appointments
        ),
        batch_size=2_000,
    )
    log.info(
        "seeded %s staff, %s services, %s clients, %s appointments",
        len(staff),
        len(services),
        len(clients),
        len(appointments),
    )


def _minutes(at: time) -> int:
    return at.hour * 60 + at.minute


def _appointment(
    business: Business,
    location: Location,
    member: StaffMember,
    service: Service,
    spec: ServiceSpec,
    blocked_start: datetime,
    clients: list[Client],
    rng: random.Random,
) -> Appointment:
    start = blocked_start + timedelta(minutes=spec.before)
    end = start + timedelta(minutes=spec.minutes)
    created_at = blocked_start - timedelta(days=rng.randint(1, 30), minutes=rng.randint(0, 600))
    roll = rng.random()
    status = (
        AppointmentStatus.CANCELLED
        if roll < 0.06
        else AppointmentStatus.CONFIRMED
        if roll < 0.40
        else AppointmentStatus.SCHEDULED
    )
    return Appointment(
        tenant=business,
        location=location,
        staff=member,
        service=service,
        client=rng.choice(clients),
        start=start.astimezone(UTC),
        end=end.astimezone(UTC),
        blocked_start=blocked_start.astimezone(UTC),
        blocked_end=(end + timedelta(minutes=spec.after)).astimezone(UTC),
        status=status,
        source=rng.choice((Source.ONLINE, Source.ONLINE, Source.DASHBOARD, Source.API, Source.SMS)),
        price=service.price,
        created_at=created_at.astimezone(UTC),
        confirmed_at=(created_at + timedelta(hours=2)).astimezone(UTC)
        if status == AppointmentStatus.CONFIRMED
        else None,
        cancelled_at=(created_at + timedelta(days=1)).astimezone(UTC)
        if status == AppointmentStatus.CANCELLED
        else None,
        cancelled_by=CancelledBy.CLIENT if status == AppointmentStatus.CANCELLED else "",
    )


def delete_bench_bookings(seed: Seed) -> int:
    """Delete what benchmarks booked: every appointment after the seeded days.

    Then vacuum what the deletion left dead, as autovacuum does on a live database between
    runs: this machine's PostgreSQL runs with autovacuum off, and each run's dead appointments,
    events and outbox rows would otherwise slow the next run's index searches and inserts.
    """
    with scope(tenant=seed.business):
        _total, by_model = Appointment.objects.filter(
            tenant=seed.business, start__gte=seed.local(SEEDED_DAYS, time.min)
        ).delete()
    if by_model:
        tables = (Appointment, AppointmentEvent, OutboundMessage)
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {', '.join(m._meta.db_table for m in tables)}")
    return by_model.get(Appointment._meta.label, 0)
