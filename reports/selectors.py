"""The report: indicators of a business's appointments over a period, in SQL.

`report_build` reads a constant number of queries whatever the period, the grouping and the
data: the default policy; the period's totals; its groups; the previous period; the trend;
messages per channel; money; working hours and time off; the groups' names. SQLite (tests,
`make run`) has no percentile_cont and reads the waiting and service times once more to
compute the 90th percentile in Python, exactly as PostgreSQL does.

Definitions (every rate is None when its denominator is 0):
- appointments: those starting in the period (local days of the business), any status, but
  requests the business never accepted (waiting, declined or withdrawn): those were never
  booked, so they are neither appointments nor cancellations;
- no-show rate: no-shows / (attended + no-shows), the appointments whose outcome is known;
- late / on-time cancellation rate: cancellations by the client / appointments. "Late" is the
  policy engine's decision (`PolicyDecision.late`); without a decision, the cancellation's
  time against the window of the terms it was booked under (else the default policy's);
- confirmation rate: appointments the client confirmed / appointments; lead time: hours
  from the confirmation to the start;
- reminded: appointments with a reminder sent or delivered / appointments; delivery success
  per channel: delivered / attempted (sent, delivered, failed or unknown) messages;
- utilisation: booked minutes (not cancelled) / available minutes (working hours minus time
  off); not available when grouping or filtering by service or client segment;
- waiting time: check-in to start; service time: start to finish (minutes);
- money: ledger entries of the period's appointments (deposits paid, fees charged and
  waived, credit issued and used);
- client segment: "new" until the client's first attended appointment, then "returning";
  reliability tier as `policies.selectors.reliability_for` says at the end of the period
  (or now, if sooner), under the default policy's window and threshold.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    Avg,
    BooleanField,
    Case,
    Count,
    DateTimeField,
    DecimalField,
    Exists,
    Expression,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, Trunc
from django.db.models.lookups import Exact, GreaterThan, GreaterThanOrEqual, LessThan
from django.utils.translation import gettext_lazy as _

from appointments.models import (
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    CancelledBy,
    EventKind,
    Service,
    StaffMember,
)
from policies.choices import Action, EntryKind, Outcome, Tier
from policies.models import LedgerEntry, PolicyDecision
from policies.selectors import (
    DEFAULT_THRESHOLD,
    DEFAULT_WINDOW_MONTHS,
    effective_policy,
    months_before,
)
from reminders.models import MessageKind, MessageStatus, OutboundMessage
from reports.availability import available_minutes
from reports.periods import Period
from reports.sql import Percentile90, SecondsBetween, percentile_cont
from tenants.models import Business, Location

ZERO = Decimal("0")
CENT = Decimal("0.01")
DEFAULT_WINDOW_HOURS = 48  # Policy.cancellation_window_hours' default
# A confirmation at least this long before the start is "early" in the no-show split.
EARLY_CONFIRMATION_SECONDS = 24 * 3600


class GroupBy:
    LOCATION = "location"
    STAFF = "staff"
    SERVICE = "service"
    SEGMENT = "segment"
    TIER = "tier"
    CHOICES = (
        (LOCATION, _("Location")),
        (STAFF, _("Staff member")),
        (SERVICE, _("Service")),
        (SEGMENT, _("New or returning client")),
        (TIER, _("Reliability tier")),
    )
    ALL = tuple(value for value, _label in CHOICES)


class Segment:
    NEW = "new"
    RETURNING = "returning"
    CHOICES = ((NEW, _("New clients")), (RETURNING, _("Returning clients")))
    ALL = (NEW, RETURNING)


# The appointment's field each groupable dimension reads.
_FIELD_OF = {
    GroupBy.LOCATION: "location_id",
    GroupBy.STAFF: "staff_id",
    GroupBy.SERVICE: "service_id",
}


@dataclass(frozen=True)
class ReportFilters:
    location_id: int | None = None
    staff_id: int | None = None
    service_id: int | None = None
    segment: str | None = None
    tier: str | None = None

    @property
    def by_client(self) -> bool:
        return bool(self.segment or self.tier)


@dataclass(frozen=True)
class ChannelFigures:
    attempted: int = 0
    delivered: int = 0
    failed: int = 0

    @property
    def success_rate(self) -> float | None:
        return _rate(self.delivered, self.attempted)


@dataclass(frozen=True)
class Money:
    deposits_collected: Decimal = ZERO
    fees_charged: Decimal = ZERO
    fees_waived: Decimal = ZERO
    credit_issued: Decimal = ZERO
    credit_used: Decimal = ZERO


@dataclass(frozen=True)
class SelfServiceFigures:
    """Slots freed and refilled from the waitlist, survey score: issue 7 (self-service)."""

    slots_freed: int
    slots_refilled: int
    survey_score: float | None


def _rate(part: float, whole: float | None) -> float | None:
    return None if not whole else part / whole


@dataclass
class Indicators:
    appointments: int = 0
    attended: int = 0
    no_shows: int = 0
    cancelled: int = 0
    late_cancellations: int = 0
    on_time_cancellations: int = 0
    confirmed: int = 0
    confirmation_lead_hours: float | None = None
    reminded: int = 0
    booked_minutes: float = 0.0
    available_minutes: float | None = None
    wait_avg_minutes: float | None = None
    wait_p90_minutes: float | None = None
    service_avg_minutes: float | None = None
    service_p90_minutes: float | None = None
    # Appointments with a known outcome and their no-shows, by confirmation.
    unconfirmed_held: int = 0
    unconfirmed_no_shows: int = 0
    confirmed_early_held: int = 0
    confirmed_early_no_shows: int = 0
    confirmed_late_held: int = 0
    confirmed_late_no_shows: int = 0
    channels: dict[str, ChannelFigures] | None = None
    money: Money | None = None
    selfservice: SelfServiceFigures | None = None

    @property
    def held(self) -> int:
        return self.attended + self.no_shows

    @property
    def no_show_rate(self) -> float | None:
        return _rate(self.no_shows, self.held)

    @property
    def late_cancellation_rate(self) -> float | None:
        return _rate(self.late_cancellations, self.appointments)

    @property
    def on_time_cancellation_rate(self) -> float | None:
        return _rate(self.on_time_cancellations, self.appointments)

    @property
    def confirmation_rate(self) -> float | None:
        return _rate(self.confirmed, self.appointments)

    @property
    def reminded_share(self) -> float | None:
        return _rate(self.reminded, self.appointments)

    @property
    def utilisation(self) -> float | None:
        return (
            None
            if self.available_minutes is None
            else _rate(self.booked_minutes, self.available_minutes)
        )

    @property
    def no_show_rate_unconfirmed(self) -> float | None:
        return _rate(self.unconfirmed_no_shows, self.unconfirmed_held)

    @property
    def no_show_rate_confirmed_early(self) -> float | None:
        return _rate(self.confirmed_early_no_shows, self.confirmed_early_held)

    @property
    def no_show_rate_confirmed_late(self) -> float | None:
        return _rate(self.confirmed_late_no_shows, self.confirmed_late_held)

    def as_trend_dict(self) -> dict[str, Any]:
        """The figures the previous period and the trend carry (counted in a lighter query)."""
        return {
            "appointments": self.appointments,
            "attended": self.attended,
            "no_shows": self.no_shows,
            "no_show_rate": self.no_show_rate,
            "late_cancellations": self.late_cancellations,
            "late_cancellation_rate": self.late_cancellation_rate,
            "on_time_cancellations": self.on_time_cancellations,
            "on_time_cancellation_rate": self.on_time_cancellation_rate,
            "confirmed": self.confirmed,
            "confirmation_rate": self.confirmation_rate,
            "booked_minutes": self.booked_minutes,
            "available_minutes": self.available_minutes,
            "utilisation": self.utilisation,
        }

    def as_dict(self) -> dict[str, Any]:
        """Every figure, for the API and the email (rates as fractions, money as strings)."""
        return {
            "appointments": self.appointments,
            "attended": self.attended,
            "no_shows": self.no_shows,
            "no_show_rate": self.no_show_rate,
            "cancelled": self.cancelled,
            "late_cancellations": self.late_cancellations,
            "late_cancellation_rate": self.late_cancellation_rate,
            "on_time_cancellations": self.on_time_cancellations,
            "on_time_cancellation_rate": self.on_time_cancellation_rate,
            "confirmed": self.confirmed,
            "confirmation_rate": self.confirmation_rate,
            "confirmation_lead_hours": self.confirmation_lead_hours,
            "no_show_rate_by_confirmation": {
                "unconfirmed": self.no_show_rate_unconfirmed,
                "confirmed_24h_or_more_before": self.no_show_rate_confirmed_early,
                "confirmed_less_than_24h_before": self.no_show_rate_confirmed_late,
            },
            "reminded": self.reminded,
            "reminded_share": self.reminded_share,
            "channels": None
            if self.channels is None
            else {
                name: {
                    "attempted": figures.attempted,
                    "delivered": figures.delivered,
                    "failed": figures.failed,
                    "success_rate": figures.success_rate,
                }
                for name, figures in sorted(self.channels.items())
            },
            "booked_minutes": self.booked_minutes,
            "available_minutes": self.available_minutes,
            "utilisation": self.utilisation,
            "wait_avg_minutes": self.wait_avg_minutes,
            "wait_p90_minutes": self.wait_p90_minutes,
            "service_avg_minutes": self.service_avg_minutes,
            "service_p90_minutes": self.service_p90_minutes,
            "money": None
            if self.money is None
            else {name: str(value) for name, value in self.money.__dict__.items()},
            # Issue 7 (self-service) brings these; None until then ("not available yet").
            "slots_freed": None if self.selfservice is None else self.selfservice.slots_freed,
            "slots_refilled": None if self.selfservice is None else self.selfservice.slots_refilled,
            "survey_score": None if self.selfservice is None else self.selfservice.survey_score,
        }


@dataclass
class Group:
    key: str
    label: str
    indicators: Indicators


@dataclass
class TrendPoint:
    period: Period
    indicators: Indicators


@dataclass
class Report:
    period: Period
    previous_period: Period
    filters: ReportFilters
    group_by: str | None
    totals: Indicators
    previous: Indicators
    groups: list[Group] = field(default_factory=list)
    trend: list[TrendPoint] = field(default_factory=list)


def selfservice_figures(
    *, tenant: Business, period: Period, filters: ReportFilters
) -> SelfServiceFigures | None:
    """Slots freed and refilled from the waitlist, and the survey score: two queries, whatever
    the period (the self-service app's tables).

    They count the whole business: the location, staff, service and segment filters do not
    narrow them yet (the freed slots and surveys are not broken down that way).
    """
    from selfservice.models import FreedSlot
    from selfservice.selectors import survey_score

    start, end = period.bounds(zoneinfo.ZoneInfo(tenant.timezone))
    slots = FreedSlot.objects.filter(tenant=tenant).aggregate(
        freed=Count("id", filter=Q(freed_at__gte=start, freed_at__lt=end)),
        refilled=Count(
            "id",
            filter=Q(refilled_by__isnull=False, refilled_at__gte=start, refilled_at__lt=end),
        ),
    )
    score = survey_score(tenant, start, end)
    return SelfServiceFigures(
        slots_freed=slots["freed"],
        slots_refilled=slots["refilled"],
        survey_score=float(score.average) if score.average is not None else None,
    )


@dataclass(frozen=True)
class _Context:
    tenant: Business
    zone: zoneinfo.ZoneInfo
    filters: ReportFilters
    as_of: datetime
    window_hours: int
    threshold: int
    window_months: int


def _context(*, tenant: Business, filters: ReportFilters, as_of: datetime) -> _Context:
    policy = effective_policy(tenant=tenant, service=None)
    return _Context(
        tenant=tenant,
        zone=zoneinfo.ZoneInfo(tenant.timezone),
        filters=filters,
        as_of=as_of,
        window_hours=policy.cancellation_window_hours if policy else DEFAULT_WINDOW_HOURS,
        threshold=policy.reliability_threshold if policy else DEFAULT_THRESHOLD,
        window_months=policy.reliability_window_months if policy else DEFAULT_WINDOW_MONTHS,
    )


def segment_expression(tenant: Business) -> Expression:
    """ "returning" when the client attended an appointment before this one's start."""
    earlier_visit = Appointment.objects.filter(
        tenant=tenant,
        client_id=OuterRef("client_id"),
        status=AppointmentStatus.ATTENDED,
        start__lt=OuterRef("start"),
    )
    return Case(
        When(Exists(earlier_visit), then=Value(Segment.RETURNING)),
        default=Value(Segment.NEW),
    )


def _tier_expression(ctx: _Context) -> Expression:
    """`policies.selectors.tier_for` in SQL, for the client of each appointment."""
    since = months_before(ctx.as_of, ctx.window_months)
    strikes = (
        Appointment.objects.filter(tenant=ctx.tenant, client_id=OuterRef("client_id"))
        .filter(
            Q(status=AppointmentStatus.NO_SHOW, start__gte=since, start__lte=ctx.as_of)
            | Q(
                status=AppointmentStatus.CANCELLED,
                cancelled_at__gte=since,
                cancelled_at__lte=ctx.as_of,
                policy_terms__outcome=Outcome.CANCELLED_LATE,
            )
        )
        .order_by()
        .values("client_id")
        .annotate(n=Count("pk"))
        .values("n")[:1]
    )
    count = Coalesce(Subquery(strikes, output_field=IntegerField()), Value(0))
    visited = Exists(
        Appointment.objects.filter(
            tenant=ctx.tenant, client_id=OuterRef("client_id"), status=AppointmentStatus.ATTENDED
        )
    )
    return Case(
        When(GreaterThanOrEqual(count, ctx.threshold), then=Value(Tier.UNRELIABLE)),
        When(GreaterThan(count, 0), then=Value(Tier.WATCH)),
        When(visited, then=Value(Tier.RELIABLE)),
        default=Value(Tier.NEW),
    )


def _late_expression(ctx: _Context) -> Expression:
    """True for a late cancellation: the engine's decision, else the terms' window."""
    decided = Subquery(
        PolicyDecision.objects.filter(
            tenant=ctx.tenant, appointment_id=OuterRef("pk"), action=Action.CANCEL_BY_CLIENT
        )
        .order_by("-at", "-pk")
        .values("late")[:1],
        output_field=BooleanField(),
    )
    window_hours = Coalesce(
        Cast(KeyTextTransform("cancellation_window_hours", "policy_terms__terms"), IntegerField()),
        Value(ctx.window_hours),
    )
    by_window = Case(
        When(
            LessThan(SecondsBetween(F("start"), F("cancelled_at")), window_hours * Value(3600)),
            then=Value(True),
        ),
        default=Value(False),
        output_field=BooleanField(),
    )
    return Coalesce(decided, by_window, output_field=BooleanField())


def never_booked(tenant: Business) -> Q:
    """A request the business has not accepted: waiting, or ended (declined, withdrawn)."""
    requested = AppointmentEvent.objects.filter(
        tenant=tenant,
        appointment_id=OuterRef("pk"),
        kind=EventKind.CREATED,
        to_status=AppointmentStatus.REQUESTED,
    )
    accepted = AppointmentEvent.objects.filter(
        tenant=tenant, appointment_id=OuterRef("pk"), kind=EventKind.ACCEPTED
    )
    return Q(status=AppointmentStatus.REQUESTED) | (
        Q(status=AppointmentStatus.CANCELLED) & Exists(requested) & ~Exists(accepted)
    )


def _appointments(ctx: _Context, period: Period) -> QuerySet[Appointment]:
    start, end = period.bounds(ctx.zone)
    queryset = Appointment.objects.filter(
        tenant=ctx.tenant, start__gte=start, start__lt=end
    ).exclude(never_booked(ctx.tenant))
    f = ctx.filters
    if f.location_id is not None:
        queryset = queryset.filter(location_id=f.location_id)
    if f.staff_id is not None:
        queryset = queryset.filter(staff_id=f.staff_id)
    if f.service_id is not None:
        queryset = queryset.filter(service_id=f.service_id)
    if f.segment:
        queryset = queryset.alias(_segment=segment_expression(ctx.tenant)).filter(
            _segment=f.segment
        )
    if f.tier:
        queryset = queryset.alias(_tier=_tier_expression(ctx)).filter(_tier=f.tier)
    return queryset.order_by()


def _group_key(ctx: _Context, group_by: str) -> Expression:
    if group_by == GroupBy.SEGMENT:
        return segment_expression(ctx.tenant)
    if group_by == GroupBy.TIER:
        return _tier_expression(ctx)
    return Cast(F(_FIELD_OF[group_by]), output_field=IntegerField())


_WAIT = SecondsBetween(F("started_at"), F("arrived_at"))
_SERVICE = SecondsBetween(F("finished_at"), F("started_at"))
_HAS_WAIT = Q(arrived_at__isnull=False, started_at__isnull=False)
_HAS_SERVICE = Q(started_at__isnull=False, finished_at__isnull=False)


def figure_conditions(ctx_or_tenant: _Context) -> dict[str, Q]:
    """The appointments behind each counted figure (shared by the counts and the CSV)."""
    ctx = ctx_or_tenant
    status = AppointmentStatus
    lead = SecondsBetween(F("start"), F("confirmed_at"))
    by_client = Q(status=status.CANCELLED, cancelled_by=CancelledBy.CLIENT)
    late = _late_expression(ctx)
    confirmed = Q(confirmed_at__isnull=False)
    early = confirmed & Q(GreaterThanOrEqual(lead, Value(float(EARLY_CONFIRMATION_SECONDS))))
    not_early = confirmed & Q(LessThan(lead, Value(float(EARLY_CONFIRMATION_SECONDS))))
    held = Q(status__in=[status.ATTENDED, status.NO_SHOW])
    no_show = Q(status=status.NO_SHOW)
    reminded = Exists(
        OutboundMessage.objects.filter(
            tenant=ctx.tenant,
            appointment_id=OuterRef("pk"),
            kind=MessageKind.RULE,
            status__in=[MessageStatus.SENT, MessageStatus.DELIVERED],
        )
    )
    return {
        "appointments": Q(),
        "attended": Q(status=status.ATTENDED),
        "no_shows": no_show,
        "cancelled": Q(status=status.CANCELLED),
        "late_cancellations": by_client & Q(Exact(late, True)),
        "on_time_cancellations": by_client & Q(Exact(late, False)),
        "client_cancellations": by_client,
        "confirmed": confirmed,
        "unconfirmed": ~confirmed,
        "reminded": Q(reminded),
        "waited": _HAS_WAIT,
        "served": _HAS_SERVICE,
        "unconfirmed_held": held & ~confirmed,
        "unconfirmed_no_shows": no_show & ~confirmed,
        "confirmed_early_held": held & early,
        "confirmed_early_no_shows": no_show & early,
        "confirmed_late_held": held & not_early,
        "confirmed_late_no_shows": no_show & not_early,
    }


# On-time cancellations are the client's cancellations less the late ones: the engine's
# decision is then read once per cancellation, not twice.
_COUNTED = (
    "appointments",
    "attended",
    "no_shows",
    "cancelled",
    "late_cancellations",
    "client_cancellations",
    "confirmed",
    "reminded",
    "unconfirmed_held",
    "unconfirmed_no_shows",
    "confirmed_early_held",
    "confirmed_early_no_shows",
    "confirmed_late_held",
    "confirmed_late_no_shows",
)
_TREND_COUNTED = (
    "appointments",
    "attended",
    "no_shows",
    "late_cancellations",
    "client_cancellations",
    "confirmed",
)


def _aggregates(ctx: _Context, *, full: bool, percentiles: bool) -> dict[str, Any]:
    conditions = figure_conditions(ctx)
    names = _COUNTED if full else _TREND_COUNTED
    aggregates: dict[str, Any] = {
        name: Count("pk", filter=conditions[name] or None) for name in names
    }
    aggregates["booked_seconds"] = Sum(
        SecondsBetween(F("end"), F("start")), filter=~Q(status=AppointmentStatus.CANCELLED)
    )
    if full:
        aggregates["lead_seconds"] = Avg(
            SecondsBetween(F("start"), F("confirmed_at")), filter=conditions["confirmed"]
        )
        aggregates["wait_avg"] = Avg(_WAIT, filter=_HAS_WAIT)
        aggregates["service_avg"] = Avg(_SERVICE, filter=_HAS_SERVICE)
        if percentiles:
            aggregates["wait_p90"] = Percentile90(_WAIT, filter=_HAS_WAIT)
            aggregates["service_p90"] = Percentile90(_SERVICE, filter=_HAS_SERVICE)
    return aggregates


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else float(seconds) / 60


def _indicators(row: dict[str, Any]) -> Indicators:
    lead = row.get("lead_seconds")
    indicators = Indicators(
        booked_minutes=float(row.get("booked_seconds") or 0) / 60,
        confirmation_lead_hours=None if lead is None else float(lead) / 3600,
        wait_avg_minutes=_minutes(row.get("wait_avg")),
        wait_p90_minutes=_minutes(row.get("wait_p90")),
        service_avg_minutes=_minutes(row.get("service_avg")),
        service_p90_minutes=_minutes(row.get("service_p90")),
    )
    for name in _COUNTED:
        if name != "client_cancellations":
            setattr(indicators, name, row.get(name) or 0)
    indicators.on_time_cancellations = (row.get("client_cancellations") or 0) - (
        row.get("late_cancellations") or 0
    )
    return indicators


def _python_percentiles(
    queryset: QuerySet[Appointment], key: Expression | None
) -> tuple[tuple[float | None, float | None], dict[str, tuple[float | None, float | None]]]:
    """SQLite's fallback, in one query: read the durations, percentile_cont them, for the
    whole and per group (keys as strings, like `Group.key`)."""
    rows = (
        queryset.filter(_HAS_WAIT | _HAS_SERVICE)
        .annotate(_key=key if key is not None else Value(""), _wait=_WAIT, _service=_SERVICE)
        .values_list("_key", "_wait", "_service")
    )
    waits: dict[str, list[float]] = defaultdict(list)
    services: dict[str, list[float]] = defaultdict(list)
    all_waits: list[float] = []
    all_services: list[float] = []
    for group, wait, service in rows:
        if wait is not None:
            waits[str(group)].append(wait)
            all_waits.append(wait)
        if service is not None:
            services[str(group)].append(service)
            all_services.append(service)
    per_group = {
        group: (percentile_cont(waits[group], 0.9), percentile_cont(services[group], 0.9))
        for group in set(waits) | set(services)
    }
    return (percentile_cont(all_waits, 0.9), percentile_cont(all_services, 0.9)), per_group


def _channels_and_money(
    ctx: _Context, appointments: QuerySet[Appointment], group_by: str | None
) -> tuple[dict[Any, dict[str, ChannelFigures]], dict[Any, Money]]:
    """Messages per channel and money, per group when the group is a column ("" otherwise)."""
    column = _FIELD_OF.get(group_by or "")
    ids = appointments.values("pk")
    message_keys = ["channel"] + ([f"appointment__{column}"] if column else [])
    attempted = [
        MessageStatus.SENT,
        MessageStatus.DELIVERED,
        MessageStatus.FAILED,
        MessageStatus.UNKNOWN,
    ]
    message_rows = (
        OutboundMessage.objects.filter(tenant=ctx.tenant, appointment_id__in=ids)
        .exclude(channel="")
        .values(*message_keys)
        .annotate(
            attempted=Count("pk", filter=Q(status__in=attempted)),
            delivered=Count("pk", filter=Q(status=MessageStatus.DELIVERED)),
            failed=Count("pk", filter=Q(status=MessageStatus.FAILED)),
        )
        .order_by()
    )
    channels: dict[Any, dict[str, ChannelFigures]] = defaultdict(dict)
    for row in message_rows:
        group = row[f"appointment__{column}"] if column else ""
        figures = ChannelFigures(row["attempted"], row["delivered"], row["failed"])
        channels[group][row["channel"]] = figures
    money_field = DecimalField(max_digits=14, decimal_places=2)

    def total(kind: str) -> Coalesce:
        return Coalesce(Sum("amount", filter=Q(kind=kind)), Value(ZERO), output_field=money_field)

    sums = {
        "deposits_collected": total(EntryKind.DEPOSIT_PAID),
        "fees_charged": total(EntryKind.FEE_CHARGED),
        "fees_waived": total(EntryKind.FEE_WAIVED),
        "credit_issued": total(EntryKind.CREDIT_ISSUED),
        "credit_used": total(EntryKind.CREDIT_USED),
    }
    entries = LedgerEntry.objects.filter(tenant=ctx.tenant, appointment_id__in=ids).order_by()
    money: dict[Any, Money] = {}
    if column:
        for row in entries.values(f"appointment__{column}").annotate(**sums):
            group = row.pop(f"appointment__{column}")
            money[group] = _money(row)
    else:
        money[""] = _money(entries.aggregate(**sums))
    return channels, money


def _money(row: dict[str, Any]) -> Money:
    # SQLite sums decimals without their scale: 10, not 10.00.
    return Money(**{name: Decimal(value).quantize(CENT) for name, value in row.items()})


def _sum_channels(per_group: Iterable[dict[str, ChannelFigures]]) -> dict[str, ChannelFigures]:
    summed: dict[str, ChannelFigures] = {}
    for channels in per_group:
        for name, figures in channels.items():
            before = summed.get(name, ChannelFigures())
            summed[name] = ChannelFigures(
                before.attempted + figures.attempted,
                before.delivered + figures.delivered,
                before.failed + figures.failed,
            )
    return summed


def _sum_money(per_group: Iterable[Money]) -> Money:
    totals = dict.fromkeys(Money.__dataclass_fields__, ZERO.quantize(CENT))
    for money in per_group:
        for name in totals:
            totals[name] += getattr(money, name)
    return Money(**totals)


def _labels(ctx: _Context, group_by: str) -> dict[Any, str]:
    if group_by == GroupBy.SEGMENT:
        return {value: str(label) for value, label in Segment.CHOICES}
    if group_by == GroupBy.TIER:
        return {value: str(label) for value, label in Tier.choices}
    model = {GroupBy.LOCATION: Location, GroupBy.STAFF: StaffMember, GroupBy.SERVICE: Service}[
        group_by
    ]
    name = "display_name" if model is StaffMember else "name"
    return dict(model.objects.filter(tenant=ctx.tenant).values_list("pk", name))


def _available(
    ctx: _Context, availability: dict[tuple[date, int, int], float], period: Period
) -> dict[str, float]:
    """Available minutes in `period`, in total ("") and per location and staff member."""
    sums: dict[str, float] = defaultdict(float)
    for (day, staff_id, location_id), minutes in availability.items():
        if period.start <= day <= period.end:
            sums[""] += minutes
            sums[f"staff:{staff_id}"] += minutes
            sums[f"location:{location_id}"] += minutes
    return sums


def report_build(
    *,
    tenant: Business,
    period: Period,
    now: datetime,
    filters: ReportFilters | None = None,
    group_by: str | None = None,
    with_trend: bool = True,
) -> Report:
    """The period's indicators, its groups, the previous period's and the trend."""
    filters = filters or ReportFilters()
    if group_by is not None and group_by not in GroupBy.ALL:
        raise ValueError(f"Unknown grouping {group_by!r}.")
    zone = zoneinfo.ZoneInfo(tenant.timezone)
    as_of = min(now, period.bounds(zone)[1])
    ctx = _context(tenant=tenant, filters=filters, as_of=as_of)
    inline_percentiles = Percentile90.supported(connection)
    appointments = _appointments(ctx, period)

    totals = _indicators(
        appointments.aggregate(**_aggregates(ctx, full=True, percentiles=inline_percentiles))
    )
    key = _group_key(ctx, group_by) if group_by else None
    groups: list[Group] = []
    if key is not None and group_by is not None:
        rows = (
            appointments.annotate(_key=key)
            .values("_key")
            .annotate(**_aggregates(ctx, full=True, percentiles=inline_percentiles))
            .order_by()
        )
        labels = _labels(ctx, group_by)
        for found in rows:
            row = dict(found)
            group_key = row.pop("_key")
            groups.append(
                Group(
                    key=str(group_key),
                    label=labels.get(group_key, str(group_key)),
                    indicators=_indicators(row),
                )
            )
    if not inline_percentiles:
        (wait_p90, service_p90), per_group = _python_percentiles(appointments, key)
        totals.wait_p90_minutes = _minutes(wait_p90)
        totals.service_p90_minutes = _minutes(service_p90)
        for group in groups:
            group_wait, group_service = per_group.get(group.key, (None, None))
            group.indicators.wait_p90_minutes = _minutes(group_wait)
            group.indicators.service_p90_minutes = _minutes(group_service)

    previous_period = period.previous()
    previous = _indicators(
        _appointments(ctx, previous_period).aggregate(
            **_aggregates(ctx, full=False, percentiles=False)
        )
    )

    trend: list[TrendPoint] = []
    buckets = period.trend_buckets() if with_trend else []
    if buckets:
        span = Period(buckets[0].start, buckets[-1].end)
        bucket_rows = (
            _appointments(ctx, span)
            .annotate(
                _bucket=Trunc("start", period.bucket, output_field=DateTimeField(), tzinfo=zone)
            )
            .values("_bucket")
            .annotate(**_aggregates(ctx, full=False, percentiles=False))
            .order_by()
        )
        found_rows = {
            row["_bucket"].astimezone(zone).date(): _indicators(dict(row)) for row in bucket_rows
        }
        trend = [TrendPoint(b, found_rows.get(b.start, Indicators())) for b in buckets]

    # Channels and money: per group when the group is a column, else in the totals only.
    channels, money = _channels_and_money(ctx, appointments, group_by)
    totals.channels = _sum_channels(channels.values())
    totals.money = _sum_money(money.values())
    if group_by in _FIELD_OF:
        for group in groups:
            group.indicators.channels = channels.get(int(group.key), {})
            group.indicators.money = money.get(int(group.key), Money())

    # Utilisation: not for a service or a client segment (hours are not kept per service).
    if filters.service_id is None and not filters.by_client:
        first = min([period.start, previous_period.start, *(b.start for b in buckets)])
        last = max([period.end, *(b.end for b in buckets)])
        availability = available_minutes(
            tenant=tenant,
            first_day=first,
            last_day=last,
            location_id=filters.location_id,
            staff_id=filters.staff_id,
        )
        now_available = _available(ctx, availability, period)
        totals.available_minutes = now_available.get("", 0.0)
        previous.available_minutes = _available(ctx, availability, previous_period).get("", 0.0)
        for point in trend:
            point.indicators.available_minutes = _available(ctx, availability, point.period).get(
                "", 0.0
            )
        if group_by in (GroupBy.LOCATION, GroupBy.STAFF):
            for group in groups:
                group.indicators.available_minutes = now_available.get(
                    f"{group_by}:{group.key}", 0.0
                )

    totals.selfservice = selfservice_figures(tenant=tenant, period=period, filters=filters)
    groups.sort(key=lambda g: (-g.indicators.appointments, g.label))
    return Report(
        period=period,
        previous_period=previous_period,
        filters=filters,
        group_by=group_by,
        totals=totals,
        previous=previous,
        groups=groups,
        trend=trend,
    )


def appointments_behind(
    *, tenant: Business, period: Period, now: datetime, figure: str, filters: ReportFilters
) -> QuerySet[Appointment]:
    """The appointments a figure of the report counts (the CSV export), oldest first."""
    zone = zoneinfo.ZoneInfo(tenant.timezone)
    ctx = _context(tenant=tenant, filters=filters, as_of=min(now, period.bounds(zone)[1]))
    conditions = figure_conditions(ctx)
    if figure not in conditions:
        raise ValueError(f"Unknown figure {figure!r}.")
    return (
        _appointments(ctx, period)
        .filter(conditions[figure])
        .annotate(
            segment=segment_expression(tenant),
            late_cancellation=Case(
                When(conditions["late_cancellations"], then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
            reminded=Case(
                When(conditions["reminded"], then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
        )
        .select_related("location", "staff", "service", "client")
        .order_by("start", "pk")
    )


# The figures the CSV export can list (the keys of `figure_conditions`).
FIGURES = (
    "appointments",
    "attended",
    "no_shows",
    "cancelled",
    "late_cancellations",
    "on_time_cancellations",
    "confirmed",
    "unconfirmed",
    "reminded",
    "waited",
    "served",
    "unconfirmed_held",
    "unconfirmed_no_shows",
    "confirmed_early_held",
    "confirmed_early_no_shows",
    "confirmed_late_held",
    "confirmed_late_no_shows",
)
