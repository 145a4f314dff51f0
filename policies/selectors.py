"""Reads of the policies: the policy in force, clients' reliability, balances and credits.

Each answers in one query, for one client or a list of them (a dashboard's day, an API page).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from django.db import connection
from django.db.models import Count, DecimalField, F, Q, Sum, Value
from django.db.models.functions import Coalesce

from appointments.models import Appointment, AppointmentStatus, Service
from policies.choices import EntryKind, Outcome, Tier
from policies.engine import Credit
from policies.models import ClientFlag, LedgerEntry, Policy
from tenants.models import Business

ZERO = Decimal("0")
DEFAULT_THRESHOLD = 2
DEFAULT_WINDOW_MONTHS = 6


def effective_policy(*, tenant: Business, service: Service | None) -> Policy | None:
    """The service's own policy, else the business's default, else None (one query)."""
    query = Q(service__isnull=True)
    if service is not None:
        query |= Q(service=service)
    return (
        Policy.objects.filter(query, tenant=tenant)
        .order_by(F("service_id").desc(nulls_last=True))
        .first()
    )


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months earlier (the month's last day if shorter)."""
    moment = moment.astimezone(UTC)
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


@dataclass(frozen=True)
class Reliability:
    client_id: int
    attended: int  # within the window
    no_shows: int
    late_cancellations: int
    on_time_cancellations: int
    visits_ever: int  # attended appointments, at any time: 0 means a new client
    threshold: int
    window_months: int

    @property
    def strikes(self) -> int:
        return self.no_shows + self.late_cancellations

    @property
    def is_new(self) -> bool:
        return self.visits_ever == 0

    @property
    def tier(self) -> str:
        return tier_for(
            visits_ever=self.visits_ever, strikes=self.strikes, threshold=self.threshold
        )


def tier_for(*, visits_ever: int, strikes: int, threshold: int) -> str:
    if strikes >= threshold:
        return Tier.UNRELIABLE
    if strikes > 0:
        return Tier.WATCH
    return Tier.NEW if visits_ever == 0 else Tier.RELIABLE


def reliability_for(
    *,
    tenant: Business,
    client_ids: Iterable[int],
    now: datetime,
    window_months: int = DEFAULT_WINDOW_MONTHS,
    threshold: int = DEFAULT_THRESHOLD,
) -> dict[int, Reliability]:
    """Each client's counts over the last `window_months` before `now`, in one query.

    Attended and no-shows count by the appointment's start, cancellations by when they were
    made; "late" is what the decision stored when the client cancelled (terms' outcome).
    Clients without appointments get zeros.
    """
    ids = sorted(set(client_ids))
    since = months_before(now, window_months)
    in_window = Q(start__gte=since, start__lte=now)
    cancelled_in_window = Q(
        status=AppointmentStatus.CANCELLED, cancelled_at__gte=since, cancelled_at__lte=now
    )
    rows = (
        Appointment.objects.filter(tenant=tenant, client_id__in=ids)
        .values("client_id")
        .annotate(
            visits_ever=Count("pk", filter=Q(status=AppointmentStatus.ATTENDED)),
            attended=Count("pk", filter=in_window & Q(status=AppointmentStatus.ATTENDED)),
            no_shows=Count("pk", filter=in_window & Q(status=AppointmentStatus.NO_SHOW)),
            late=Count(
                "pk",
                filter=cancelled_in_window & Q(policy_terms__outcome=Outcome.CANCELLED_LATE),
            ),
            on_time=Count(
                "pk",
                filter=cancelled_in_window & Q(policy_terms__outcome=Outcome.CANCELLED_ON_TIME),
            ),
        )
        .order_by()
    )
    found: dict[int, dict[str, Any]] = {row["client_id"]: dict(row) for row in rows} if ids else {}
    result: dict[int, Reliability] = {}
    for client_id in ids:
        row = found.get(client_id, {})
        result[client_id] = Reliability(
            client_id=client_id,
            attended=row.get("attended", 0),
            no_shows=row.get("no_shows", 0),
            late_cancellations=row.get("late", 0),
            on_time_cancellations=row.get("on_time", 0),
            visits_ever=row.get("visits_ever", 0),
            threshold=threshold,
            window_months=window_months,
        )
    return result


def flagged_client_ids(*, tenant: Business, client_ids: Iterable[int]) -> set[int]:
    return set(
        ClientFlag.objects.filter(tenant=tenant, client_id__in=list(client_ids)).values_list(
            "client_id", flat=True
        )
    )


@dataclass(frozen=True)
class Balance:
    """A client's money with the business, in its currency.

    `deposits_held`: deposits paid and not yet refunded, kept or counted towards a visit.
    `fees_owed`: fees charged and neither paid nor waived.
    `credit`: rebooking credit still usable (issued, not used, not expired).
    """

    client_id: int
    deposits_held: Decimal
    fees_owed: Decimal
    credit: Decimal


def _sum(*kinds: str, extra: Q | None = None) -> Coalesce:
    condition = Q(kind__in=kinds)
    if extra is not None:
        condition &= extra
    return Coalesce(
        Sum("amount", filter=condition),
        Value(ZERO),
        output_field=DecimalField(max_digits=14, decimal_places=2),
    )


def balances_for(
    *, tenant: Business, client_ids: Iterable[int], now: datetime
) -> dict[int, Balance]:
    """The balance of each client, in one query (clients without entries get zeros)."""
    ids = sorted(set(client_ids))
    unexpired = Q(credit_expires_at__gt=now)
    rows = (
        LedgerEntry.objects.filter(tenant=tenant, client_id__in=ids)
        .values("client_id")
        .annotate(
            paid=_sum(EntryKind.DEPOSIT_PAID),
            released=_sum(EntryKind.REFUNDED, EntryKind.KEPT, EntryKind.DEPOSIT_APPLIED),
            charged=_sum(EntryKind.FEE_CHARGED),
            settled=_sum(EntryKind.FEE_PAID, EntryKind.FEE_WAIVED),
            issued=_sum(EntryKind.CREDIT_ISSUED, extra=unexpired),
            used=_sum(EntryKind.CREDIT_USED, extra=unexpired),
        )
        .order_by()
    )
    found = {row["client_id"]: row for row in rows} if ids else {}
    result: dict[int, Balance] = {}
    for client_id in ids:
        row = found.get(client_id)
        if row is None:
            result[client_id] = Balance(client_id, ZERO, ZERO, ZERO)
            continue
        result[client_id] = Balance(
            client_id=client_id,
            deposits_held=row["paid"] - row["released"],
            fees_owed=row["charged"] - row["settled"],
            credit=row["issued"] - row["used"],
        )
    return result


def client_balance(*, tenant: Business, client_id: int, now: datetime) -> Balance:
    return balances_for(tenant=tenant, client_ids=[client_id], now=now)[client_id]


def available_credits(*, tenant: Business, client_id: int, now: datetime) -> list[Credit]:
    """The client's usable credits, soonest to expire first (one query).

    A use copies the expiry of the credit it draws on, so grouping by expiry nets each
    credit against its uses.
    """
    rows = (
        LedgerEntry.objects.filter(
            tenant=tenant,
            client_id=client_id,
            kind__in=[EntryKind.CREDIT_ISSUED, EntryKind.CREDIT_USED],
            credit_expires_at__gt=now,
        )
        .values("credit_expires_at")
        .annotate(issued=_sum(EntryKind.CREDIT_ISSUED), used=_sum(EntryKind.CREDIT_USED))
        .order_by("credit_expires_at")
    )
    return [
        Credit(
            amount=row["issued"] - row["used"], expires_at=cast(datetime, row["credit_expires_at"])
        )
        for row in rows
        if row["issued"] > row["used"]
    ]


def appointment_fee_outstanding(*, appointment: Appointment) -> Decimal:
    """Fees charged on the appointment and neither paid nor waived (one query)."""
    sums = LedgerEntry.objects.filter(
        tenant_id=appointment.tenant_id, appointment=appointment
    ).aggregate(
        charged=_sum(EntryKind.FEE_CHARGED),
        settled=_sum(EntryKind.FEE_PAID, EntryKind.FEE_WAIVED),
    )
    return Decimal(sums["charged"] - sums["settled"])


def appointment_kept_not_credited(*, appointment: Appointment) -> Decimal:
    """What the business kept of the appointment's deposit and has not turned into credit."""
    sums = LedgerEntry.objects.filter(
        tenant_id=appointment.tenant_id, appointment=appointment
    ).aggregate(kept=_sum(EntryKind.KEPT), credited=_sum(EntryKind.CREDIT_ISSUED))
    return Decimal(sums["kept"] - sums["credited"])


@dataclass(frozen=True)
class BookingProbe:
    """What a new booking needs to know of the policies, read with the booking's own checks:
    the policy in force for its service (None: none) and whether the client holds credit."""

    policy_id: int | None
    has_credit: bool

    @property
    def needs_terms(self) -> bool:
        """Without a policy and without credit, the booking stores nothing: no row reads as
        "no policy" (`terms_of(None)`), so nothing is charged and nothing is written."""
        return self.policy_id is not None or self.has_credit


def booking_probe_sql(
    *, tenant_id: int, service_id: int, client_id: int, now: datetime
) -> tuple[str, list[Any]]:
    """Two select expressions (the policy's id, the credit flag) and their parameters, for the
    booking's one validation query: a business without a policy pays no statement for them.

    The service's own policy wins over the business's default, as in `effective_policy`.
    """
    policy_table = Policy._meta.db_table
    ledger_table = LedgerEntry._meta.db_table
    sql = (
        f"(SELECT id FROM {policy_table} WHERE tenant_id = %s"  # noqa: S608 - table names only
        " AND (service_id = %s OR service_id IS NULL)"
        " ORDER BY CASE WHEN service_id IS NULL THEN 1 ELSE 0 END LIMIT 1),"
        f" EXISTS (SELECT 1 FROM {ledger_table} WHERE tenant_id = %s AND client_id = %s"
        " AND kind = %s AND credit_expires_at > %s)"
    )
    return sql, [
        tenant_id,
        service_id,
        tenant_id,
        client_id,
        EntryKind.CREDIT_ISSUED,
        connection.ops.adapt_datetimefield_value(now),
    ]
