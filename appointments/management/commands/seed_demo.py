"""A demo business to log into: staff, services, clients and a week of appointments.

Idempotent: when the demo business exists nothing is created and the login is printed again.
Every appointment is booked through `appointment_book`, like any other booking.
"""

import random
import zoneinfo
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone
from django_scopes import scope

from appointments.errors import SchedulingError
from appointments.models import (
    BookingRules,
    Service,
    Source,
    StaffLocation,
    StaffMember,
    StaffService,
    WorkingHours,
)
from appointments.services import (
    Actor,
    appointment_book,
    appointment_cancel,
    appointment_check_in,
    appointment_confirm,
    appointment_finish,
    appointment_mark_attended,
    appointment_mark_no_show,
    appointment_start,
)
from clients.models import Client
from reminders.models import MessageStatus, OutboundMessage
from reminders.services.planning import reminder_rules_create_defaults
from tenants.models import Business, Location, Membership, Role, User

DEMO_SLUG = "demo"
DEMO_PASSWORD = "puntual-demo"  # noqa: S105  (a demo login, printed on purpose)
OWNER_EMAIL = "owner@demo.puntual.test"
RECEPTIONIST_EMAIL = "recepcion@demo.puntual.test"

SERVICES = [  # name, minutes, buffer after, price
    ("Revisión y limpieza", 45, 15, Decimal("60.00")),
    ("Empaste", 60, 10, Decimal("90.00")),
    ("Blanqueamiento", 90, 15, Decimal("250.00")),
    ("Primera visita", 30, 0, Decimal("0.00")),
]
STAFF = ["Dra. Lucía Herrera", "Dr. Martín Ruiz", "Paula Gómez (higienista)"]
CLIENTS = [
    "Ana García",
    "Javier López",
    "María Fernández",
    "Carlos Martín",
    "Lucía Sánchez",
    "David Pérez",
    "Laura Gómez",
    "Sergio Díaz",
    "Elena Moreno",
    "Pablo Álvarez",
    "Carmen Romero",
    "Alberto Navarro",
    "Marta Torres",
    "Raúl Domínguez",
    "Sara Vázquez",
    "Hugo Ramos",
    "Irene Gil",
    "Diego Serrano",
    "Nuria Blanco",
    "Óscar Molina",
]


def _next_quarter(moment: datetime) -> datetime:
    """Round up to the quarter hour: online bookings take only the offered (15-minute) slots."""
    extra = -moment.minute % 15
    return moment + timedelta(minutes=extra) if extra else moment


class Command(BaseCommand):
    help = "Create the demo business (only if absent) and print how to log in."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args: Any, **options: Any) -> None:
        business = Business.objects.filter(slug=DEMO_SLUG).first()
        if business is None:
            business = self._create(random.Random(options["seed"]))  # noqa: S311  (demo data)
            self.stdout.write(self.style.SUCCESS(f"Created the demo business {business.name}."))
        else:
            self.stdout.write(f"The demo business {business.name} already exists.")
        self.stdout.write(
            f"Log in as {OWNER_EMAIL} (owner) or {RECEPTIONIST_EMAIL} (receptionist), password: {DEMO_PASSWORD}"
        )

    @transaction.atomic
    def _create(self, rng: random.Random) -> Business:
        business = Business.objects.create(
            name="Clínica Dental Sonrisa",
            slug=DEMO_SLUG,
            timezone="Europe/Madrid",
            language="es",
            currency="EUR",
            country="ES",
            email="hola@sonrisa.example",
            phone="+34910000000",
        )
        owner = self._user(OWNER_EMAIL, "Olga Propietaria")
        receptionist = self._user(RECEPTIONIST_EMAIL, "Rita Recepción")
        with scope(tenant=business):
            Membership.objects.create(tenant=business, user=owner, role=Role.OWNER)
            Membership.objects.create(tenant=business, user=receptionist, role=Role.RECEPTIONIST)
            location = Location.objects.create(
                tenant=business,
                name="Sonrisa Centro",
                timezone="Europe/Madrid",
                address="Calle Mayor 10, 28013 Madrid",
                phone="+34910000000",
            )
            BookingRules.objects.create(tenant=business)
            reminder_rules_create_defaults(tenant=business)
            services = [
                Service.objects.create(
                    tenant=business,
                    name=name,
                    duration_minutes=minutes,
                    buffer_after_minutes=buffer,
                    price=price,
                )
                for name, minutes, buffer, price in SERVICES
            ]
            staff = []
            for index, name in enumerate(STAFF):
                member = StaffMember.objects.create(
                    tenant=business,
                    display_name=name,
                    color=["#5b6abf", "#b0567a", "#2f8f6f"][index],
                )
                StaffLocation.objects.create(tenant=business, staff=member, location=location)
                for service in services:
                    StaffService.objects.create(tenant=business, staff=member, service=service)
                for weekday in range(5):  # Monday to Friday, with a lunch break
                    for start, end in ((time(9), time(14)), (time(15), time(19))):
                        WorkingHours.objects.create(
                            tenant=business,
                            staff=member,
                            location=location,
                            weekday=weekday,
                            start_time=start,
                            end_time=end,
                        )
                staff.append(member)
            clients = [
                Client.objects.create(
                    tenant=business,
                    name=name,
                    phone=f"+346{10000000 + i * 7919:08d}",
                    email=f"{name.split()[0].lower()}.{i}@example.com".encode(
                        "ascii", "ignore"
                    ).decode(),
                    sms_consent=True,
                    email_consent=True,
                    language="es" if i % 4 else "en",
                )
                for i, name in enumerate(CLIENTS)
            ]
            self._book_week(business, location, staff, services, clients, receptionist, rng)
            # The week's history was "booked" in the past: its messages are history too, not
            # a flood of confirmations for the console on the first start.
            OutboundMessage.objects.filter(
                tenant=business, status=MessageStatus.PENDING, send_at__lte=timezone.now()
            ).update(status=MessageStatus.SKIPPED, status_reason="demo history")
        return business

    def _user(self, email: str, name: str) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=DEMO_PASSWORD, full_name=name)
        return user

    def _book_week(
        self,
        business: Business,
        location: Location,
        staff: list[StaffMember],
        services: list[Service],
        clients: list[Client],
        receptionist: User,
        rng: random.Random,
    ) -> None:
        tz = zoneinfo.ZoneInfo(business.timezone)
        now = timezone.now()
        today = now.astimezone(tz).date()
        desk = Actor.staff(receptionist)
        for offset in range(-7, 7):  # last week (history) and the week ahead
            day = today + timedelta(days=offset)
            if day.weekday() >= 5:
                continue
            for member in staff:
                for start_hour, end_hour in ((9, 14), (15, 19)):
                    cursor = datetime.combine(day, time(start_hour), tzinfo=tz)
                    block_end = datetime.combine(day, time(end_hour), tzinfo=tz)
                    while True:
                        service = rng.choice(services)
                        cursor += timedelta(minutes=rng.choice((0, 0, 15, 30, 60)))
                        end = cursor + timedelta(
                            minutes=service.duration_minutes + service.buffer_after_minutes
                        )
                        if end > block_end:
                            break
                        try:
                            appointment = appointment_book(
                                tenant=business,
                                location=location,
                                staff=member,
                                service=service,
                                client=rng.choice(clients),
                                start=cursor,
                                source=rng.choice((Source.DASHBOARD, Source.ONLINE)),
                                actor=desk,
                                now=cursor - timedelta(days=rng.randint(3, 20)),
                            )
                        except SchedulingError:
                            cursor = _next_quarter(end)
                            continue
                        self._play_out(appointment, desk, now, rng)
                        cursor = _next_quarter(end)

    def _play_out(self, appointment: Any, actor: Actor, now: datetime, rng: random.Random) -> None:
        """Give the appointment a believable history for its time relative to now."""
        roll = rng.random()
        before = appointment.start - timedelta(hours=rng.randint(20, 47))
        if roll < 0.07:
            appointment_cancel(
                appointment=appointment, actor=Actor.client("sms"), reason="No puedo ir", now=before
            )
            return
        if roll < 0.75:
            appointment = appointment_confirm(
                appointment=appointment, actor=Actor.client("email"), now=before
            )
        if appointment.end <= now:
            if roll > 0.92:
                appointment_mark_no_show(
                    appointment=appointment,
                    actor=actor,
                    now=appointment.start + timedelta(minutes=15),
                )
                return
            arrived = appointment.start - timedelta(minutes=rng.randint(-5, 12))
            appointment_check_in(appointment=appointment, actor=actor, now=arrived)
            started = max(arrived, appointment.start) + timedelta(minutes=rng.randint(0, 10))
            appointment_start(appointment=appointment, actor=actor, now=started)
            appointment_finish(appointment=appointment, actor=actor, now=appointment.end)
            appointment_mark_attended(appointment=appointment, actor=actor, now=appointment.end)
