"""factory_boy factories. Tenant-owned factories take `tenant=`; they never guess one."""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from typing import Any

import factory
from factory.django import DjangoModelFactory

from appointments.models import (
    BookingRules,
    Service,
    StaffLocation,
    StaffMember,
    StaffService,
    WorkingHours,
)
from clients.models import Client
from tenants.models import Business, Location, Membership, Role, User

DEFAULT_PASSWORD = "a-long-test-password-1"


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def _save(obj: User, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            obj.save()


class BusinessFactory(DjangoModelFactory[Business]):
    class Meta:
        model = Business

    name = factory.Sequence(lambda n: f"Business {n}")
    slug = factory.Sequence(lambda n: f"business-{n}")
    timezone = "Europe/Madrid"
    language = "en"
    currency = "EUR"
    country = "ES"


class MembershipFactory(DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    tenant = factory.SubFactory(BusinessFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.OWNER


class LocationFactory(DjangoModelFactory[Location]):
    class Meta:
        model = Location

    name = factory.Sequence(lambda n: f"Location {n}")
    timezone = factory.LazyAttribute(lambda o: o.tenant.timezone)


class ServiceFactory(DjangoModelFactory[Service]):
    class Meta:
        model = Service

    name = factory.Sequence(lambda n: f"Service {n}")
    duration_minutes = 30
    price = Decimal("40.00")


class StaffFactory(DjangoModelFactory[StaffMember]):
    class Meta:
        model = StaffMember

    display_name = factory.Sequence(lambda n: f"Staff {n}")


class ClientFactory(DjangoModelFactory[Client]):
    class Meta:
        model = Client

    name = factory.Faker("name")
    phone = factory.Sequence(lambda n: f"+3461{n:07d}")
    email = factory.Sequence(lambda n: f"client{n}@example.com")
    sms_consent = True
    email_consent = True


def staff_offering(
    *,
    tenant: Business,
    location: Location,
    services: list[Service],
    hours: tuple[tuple[time, time], ...] = ((time(9), time(14)), (time(15), time(19))),
    weekdays: range = range(5),
    **kwargs: Any,
) -> StaffMember:
    """A staff member who performs `services` at `location` during `hours` on `weekdays`."""
    staff = StaffFactory(tenant=tenant, **kwargs)
    StaffLocation.objects.create(tenant=tenant, staff=staff, location=location)
    for service in services:
        StaffService.objects.create(tenant=tenant, staff=staff, service=service)
    for weekday in weekdays:
        for start, end in hours:
            WorkingHours.objects.create(
                tenant=tenant,
                staff=staff,
                location=location,
                weekday=weekday,
                start_time=start,
                end_time=end,
            )
    return staff


def booking_rules(*, tenant: Business, **kwargs: Any) -> BookingRules:
    return BookingRules.objects.create(tenant=tenant, **kwargs)


class PolicyFactory(DjangoModelFactory[Any]):
    """A policy (the business's default unless `service=` is given). Built by the ORM: use
    `policies.services.policy_create` to test validation."""

    class Meta:
        model = "policies.Policy"

    service = None
