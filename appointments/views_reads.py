"""The dashboard's reads: the day and week boards, the day's numbers, the front desk's list of
the day, an appointment's timeline. Each in a fixed number of queries, whatever the number of
staff members or appointments (the day view's test counts them).

Boards are laid out on a grid of ROW_MINUTES rows in the business's wall time; the numbers
computed here are only what the templates place (rows, spans, lanes), never business rules:
which actions an appointment offers comes from the workflow's declared transitions.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from html import escape
from typing import Any, NamedTuple

from django.db.models import F, QuerySet
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from appointments.models import (
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    EventKind,
    StaffLocation,
    StaffMember,
    StaffService,
    TimeOff,
    WorkingHours,
)
from appointments.selectors import local_day_bounds
from appointments.workflow import (
    OPEN_STATUSES,
    RESCHEDULABLE,
    UPCOMING_STATUSES,
    can_transition,
)
from policies.choices import Action as PolicyAction
from policies.choices import DepositOutcome, PaymentMethod
from policies.money import format_money
from reminders.models import InboundMessage, MessageStatus, OutboundMessage
from tenants.models import Business

S = AppointmentStatus
ROW_MINUTES = 5
# A block is never drawn shorter than this many rows, so that its first line stays readable.
MIN_BLOCK_ROWS = 3
# The hours shown when the day has no working hours and no appointments to size it.
DEFAULT_HOURS = (8 * 60, 20 * 60)

# What a block or a row shows about where an appointment stands (more than its status: a
# confirmed appointment whose client checked in is "waiting").
STATE_LABELS: dict[str, Any] = {
    "requested": gettext_lazy("Requested"),
    "scheduled": gettext_lazy("Not confirmed"),
    "confirmed": gettext_lazy("Confirmed"),
    "waiting": gettext_lazy("Waiting"),
    "in_service": gettext_lazy("In service"),
    "attended": gettext_lazy("Attended"),
    "no_show": gettext_lazy("No-show"),
    "cancelled": gettext_lazy("Cancelled"),
}

# A request that ended before the business accepted it is stored as cancelled (it holds no
# time any more); this says how it ended.
ENDED_REQUEST_LABELS: dict[str, Any] = {
    EventKind.DECLINED: gettext_lazy("Declined"),
    EventKind.STATUS: gettext_lazy("Request withdrawn"),
}


def ended_requests(*, tenant_id: int, appointment_ids: Iterable[int]) -> dict[int, str]:
    """Of these appointments, the requests that ended unanswered or declined: their id → the
    label that says how (one query)."""
    ids = list(appointment_ids)
    if not ids:
        return {}
    rows = AppointmentEvent.objects.filter(
        tenant_id=tenant_id,
        appointment_id__in=ids,
        from_status=AppointmentStatus.REQUESTED,
        to_status=AppointmentStatus.CANCELLED,
    ).values_list("appointment_id", "kind")
    return {
        appointment_id: str(ENDED_REQUEST_LABELS[kind])
        for appointment_id, kind in rows
        if kind in ENDED_REQUEST_LABELS
    }


# The actions the dashboard offers, in the order it shows them: url suffix, label.
ACTIONS: dict[str, tuple[str, Any]] = {
    "accept": ("accept/", gettext_lazy("Accept")),
    "decline": ("decline/", gettext_lazy("Decline…")),
    "confirm": ("confirm/", gettext_lazy("Confirm")),
    "check_in": ("check-in/", gettext_lazy("Check in")),
    "start": ("start/", gettext_lazy("Start")),
    "attend": ("attend/", gettext_lazy("Attended")),
    "no_show": ("no-show/", gettext_lazy("No-show")),
    "move": ("move/", gettext_lazy("Move…")),
    "cancel": ("cancel/", gettext_lazy("Cancel…")),
}
# Actions that need a second screen (a reason, a new time); the others are one POST.
TWO_STEP_ACTIONS = frozenset({"move", "cancel", "decline"})
# The front desk's list offers the next step of a visit, not every change (the board does).
DESK_ACTIONS: dict[str, tuple[str, ...]] = {
    "requested": ("accept",),  # declining asks for a reason first (the detail, the requests)
    "scheduled": ("confirm", "check_in", "no_show"),
    "confirmed": ("check_in", "no_show"),
    "waiting": ("start", "attend"),
    "in_service": ("attend",),
}


def state_of(appointment: Appointment) -> str:
    if appointment.status in OPEN_STATUSES:
        if appointment.started_at is not None:
            return "in_service"
        if appointment.arrived_at is not None:
            return "waiting"
    return str(appointment.status)


def actions_for(appointment: Appointment, *, now: datetime, today: date, zone: Any) -> list[str]:
    """The actions that are possible now, as the workflow declares them (a button for each).

    Check-in and start only on the appointment's own day; attended and no-show once it has
    begun (the services refuse them earlier); no no-show for a client who checked in. A
    request is only accepted (while its time is ahead) or declined.
    """
    status = appointment.status
    if status == S.REQUESTED:
        return ["accept", "decline"] if now < appointment.start else ["decline"]
    is_open = status in OPEN_STATUSES
    on_its_day = appointment.start.astimezone(zone).date() == today
    actions = []
    if can_transition(status, S.CONFIRMED):
        actions.append("confirm")
    if is_open and on_its_day and appointment.arrived_at is None:
        actions.append("check_in")
    if is_open and on_its_day and appointment.started_at is None:
        actions.append("start")
    if can_transition(status, S.ATTENDED) and now >= appointment.start:
        actions.append("attend")
    if (
        can_transition(status, S.NO_SHOW)
        and now >= appointment.start
        and appointment.arrived_at is None
    ):
        actions.append("no_show")
    if status in RESCHEDULABLE:
        actions.append("move")
    if can_transition(status, S.CANCELLED):
        actions.append("cancel")
    return actions


def minutes_between(later: datetime, earlier: datetime) -> int:
    return max(0, int((later - earlier).total_seconds() // 60))


# --- Numbers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Numbers:
    booked: int  # not cancelled, not a request
    confirmed: int  # confirmed at some point (or attended after confirming)
    unconfirmed: int
    arrived: int
    waiting: int
    no_shows: int
    cancelled: int
    requested: int = 0  # requests waiting for an answer

    @property
    def confirmed_percent(self) -> int:
        return round(100 * self.confirmed / self.booked) if self.booked else 0


def numbers_for(appointments: Iterable[Appointment]) -> Numbers:
    booked = confirmed = unconfirmed = arrived = waiting = no_shows = cancelled = requested = 0
    for a in appointments:
        if a.status == S.CANCELLED:
            cancelled += 1
            continue
        if a.status == S.REQUESTED:
            requested += 1
            continue
        booked += 1
        if a.status == S.CONFIRMED or a.confirmed_at is not None:
            confirmed += 1
        if a.status == S.SCHEDULED:
            unconfirmed += 1
        if a.status == S.NO_SHOW:
            no_shows += 1
        if a.arrived_at is not None:
            arrived += 1
            if a.started_at is None and a.status in OPEN_STATUSES:
                waiting += 1
    return Numbers(booked, confirmed, unconfirmed, arrived, waiting, no_shows, cancelled, requested)


# --- Boards (day and week) -----------------------------------------------------------------


# What a block and the day's numbers read of an appointment. A board loads a thousand: the
# client's and the service's names come as two columns, not as two more model instances each.
BLOCK_FIELDS = (
    "tenant",
    "staff",
    "location",
    "start",
    "end",
    "status",
    "confirmed_at",
    "arrived_at",
    "started_at",
)


def for_blocks(query: QuerySet[Appointment]) -> QuerySet[Appointment]:
    return query.only(*BLOCK_FIELDS).annotate(
        client_name=F("client__name"), service_name=F("service__name")
    )


class Link(NamedTuple):
    """One action of a block's menu: its URL, its label, and whether it opens a second screen.

    A tuple: a board makes thousands of them.
    """

    name: str
    url: str
    label: str
    two_step: bool


@functools.cache
def _appointments_prefix() -> str:
    """ "/dashboard/appointments/": every block's links start with it (reversed once, not per block)."""
    return reverse("dashboard:appointment", args=[1]).removesuffix("1/")


@dataclass(frozen=True)
class Texts:
    """A block's words in one language, translated once per board rather than once per block."""

    actions: dict[str, str]
    states: dict[str, str]
    menu: str


@functools.lru_cache(maxsize=8)
def _texts_in(language: str | None) -> Texts:
    return Texts(
        actions={name: str(label) for name, (_suffix, label) in ACTIONS.items()},
        states={state: str(label) for state, label in STATE_LABELS.items()},
        menu=_("Actions for %(client)s at %(time)s"),
    )


def texts() -> Texts:
    return _texts_in(get_language())


def links_for(
    appointment: Appointment, actions: Iterable[str], words: Texts | None = None
) -> tuple[str, list[Link]]:
    url = f"{_appointments_prefix()}{appointment.pk}/"
    labels = (words or texts()).actions
    return url, [
        Link(name, url + ACTIONS[name][0], labels[name], name in TWO_STEP_ACTIONS)
        for name in actions
    ]


@dataclass
class Block:
    appointment: Appointment
    client_name: str
    service_name: str
    start_label: str
    end_label: str
    state: str
    state_label: str
    actions: list[str]
    waiting_minutes: int | None
    url: str = ""
    links: list[Link] = field(default_factory=list)
    menu_label: str = ""
    first: int = 0  # minutes since the column's local midnight
    last: int = 0
    row: int = 1
    span: int = 1
    lane: int = 1


@dataclass
class Band:
    """A stretch of a column's background: working hours ("open") or time off ("off")."""

    kind: str
    first: int
    last: int
    label: str = ""
    row: int = 1
    span: int = 1


@dataclass
class Column:
    key: str
    title: str
    day: date
    color: str = ""
    staff: StaffMember | None = None
    is_today: bool = False
    blocks: list[Block] = field(default_factory=list)
    bands: list[Band] = field(default_factory=list)
    lanes: int = 1
    html: SafeString = field(default_factory=SafeString)


@dataclass
class Board:
    columns: list[Column]
    rows: int
    hours: list[tuple[str, int]]  # ("09:00", row)
    now_row: int | None
    now_label: str
    numbers: Numbers
    appointments: list[Appointment]


def _minutes(moment: datetime, zone: Any, day: date) -> int:
    """Minutes since `day`'s local midnight, clamped to the day."""
    local = moment.astimezone(zone)
    if local.date() < day:
        return 0
    if local.date() > day:
        return 24 * 60
    return local.hour * 60 + local.minute


def _wall_minutes(day: date, moment: time, location_zone: str, zone: Any) -> int:
    """A location's wall time on `day` as minutes of the business's day (the same zone: as is)."""
    if location_zone == getattr(zone, "key", None):
        return moment.hour * 60 + moment.minute
    instant = datetime.combine(day, moment, tzinfo=zoneinfo.ZoneInfo(location_zone))
    return _minutes(instant, zone, day)


def block_for(
    appointment: Appointment,
    *,
    zone: Any,
    day: date,
    now: datetime,
    today: date,
    words: Texts | None = None,
) -> Block:
    words = words or texts()
    # Annotated by `for_blocks`; an appointment loaded with its client and service has them too.
    client_name = getattr(appointment, "client_name", None) or appointment.client.name
    service_name = getattr(appointment, "service_name", None) or appointment.service.name
    state = state_of(appointment)
    local_start = appointment.start.astimezone(zone)
    local_end = appointment.end.astimezone(zone)
    waiting = (
        minutes_between(now, appointment.arrived_at)
        if state == "waiting" and appointment.arrived_at is not None
        else None
    )
    actions = actions_for(appointment, now=now, today=today, zone=zone)
    url, links = links_for(appointment, actions, words)
    return Block(
        appointment=appointment,
        client_name=client_name,
        service_name=service_name,
        start_label=f"{local_start:%H:%M}",
        end_label=f"{local_end:%H:%M}",
        state=state,
        state_label=words.states[state],
        actions=actions,
        waiting_minutes=waiting,
        url=url,
        links=links,
        menu_label=words.menu % {"client": client_name, "time": f"{local_start:%H:%M}"},
        first=_minutes(appointment.start, zone, day),
        last=_minutes(appointment.end, zone, day),
    )


def _lay_out(columns: Sequence[Column], *, now: datetime, zone: Any) -> Board:
    """Place every block and band on the shared grid of rows, blocks that overlap side by side."""
    spans = [(b.first, b.last) for c in columns for b in c.blocks if b.last > b.first] + [
        (b.first, b.last) for c in columns for b in c.bands if b.last > b.first
    ]
    has_hours = any(band.kind == "open" for column in columns for band in column.bands)
    first = min([first for first, _last in spans] + ([] if has_hours else [DEFAULT_HOURS[0]]))
    last = max([last for _first, last in spans] + ([] if has_hours else [DEFAULT_HOURS[1]]))
    first = first // 60 * 60
    last = min(24 * 60, -(-last // 60) * 60)
    rows = max(1, (last - first) // ROW_MINUTES)

    def row_of(minutes: int) -> int:
        return min(rows, max(0, minutes - first) // ROW_MINUTES + 1)

    def span_of(start: int, end: int, least: int = 1) -> int:
        return max(least, -(-(end - max(start, first)) // ROW_MINUTES))

    appointments: list[Appointment] = []
    for column in columns:
        for band in column.bands:
            band.row, band.span = row_of(band.first), span_of(band.first, band.last)
        lane_ends: list[int] = []
        for block in sorted(column.blocks, key=lambda b: (b.first, -b.last)):
            block.row = row_of(block.first)
            block.span = min(span_of(block.first, block.last, MIN_BLOCK_ROWS), rows - block.row + 1)
            end = block.row + block.span
            for index, lane_end in enumerate(lane_ends):
                if lane_end <= block.row:
                    lane_ends[index] = end
                    block.lane = index + 1
                    break
            else:
                lane_ends.append(end)
                block.lane = len(lane_ends)
        column.lanes = max(1, len(lane_ends))
        appointments.extend(block.appointment for block in column.blocks)

    now_row = None
    now_label = ""
    today_columns = [column for column in columns if column.is_today]
    if today_columns:
        minutes = _minutes(now, zone, today_columns[0].day)
        if first <= minutes < last:
            now_row = (minutes - first) // ROW_MINUTES + 1
            now_label = f"{now.astimezone(zone):%H:%M}"
    hours = [(f"{m // 60:02d}:00", (m - first) // ROW_MINUTES + 1) for m in range(first, last, 60)]
    return Board(
        columns=list(columns),
        rows=rows,
        hours=hours,
        now_row=now_row,
        now_label=now_label,
        numbers=numbers_for(appointments),
        appointments=appointments,
    )


# A board of 50 staff members holds 1,000 blocks: written out here rather than by a template
# include per block, which took most of the day view's time (each variable, each integer
# localised). Everything that is not a fixed string or a number is escaped.


def block_html(block: Block, *, can_act: bool) -> SafeString:
    """One appointment's block: its time, client, service and state, and its menu of actions."""
    a = block.appointment
    waiting = f" · {block.waiting_minutes} min" if block.waiting_minutes is not None else ""
    parts = [
        f'<article id="appt-{a.pk}" class="appt st-{block.state}">'
        f'<a class="appt-link" href="{block.url}"><span class="appt-line">'
        f'<span class="appt-time">{block.start_label}</span> '
        f'<span class="appt-client">{escape(block.client_name)}</span></span>'
        f'<span class="appt-line">{escape(block.service_name)}</span>'
        f'<span class="appt-line appt-state">{escape(block.state_label)}{waiting}</span></a>'
    ]
    if can_act and block.links:
        label = escape(block.menu_label)
        parts.append(
            f'<details class="appt-menu"><summary aria-label="{label}" title="{label}">'
            '⋯</summary><div class="menu">'
        )
        for link in block.links:
            if link.two_step:
                danger = ' class="menu-danger"' if link.name == "cancel" else ""
                parts.append(
                    f'<a href="{link.url}" hx-get="{link.url}" hx-target="#panel-body" '
                    f'hx-swap="innerHTML"{danger}>{escape(link.label)}</a>'
                )
            else:
                parts.append(
                    f'<button type="submit" form="act" formaction="{link.url}" '
                    f'hx-post="{link.url}">{escape(link.label)}</button>'
                )
        parts.append("</div></details>")
    parts.append("</article>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def paint(board: Board, *, can_act: bool) -> Board:
    """Write each column's bands and blocks (`column.html`) for the template to place."""
    for column in board.columns:
        parts = [
            f'<div class="band band-{band.kind}" style="grid-row: {band.row} / span {band.span}">'
            f"{escape(band.label)}</div>"
            for band in column.bands
        ]
        parts.extend(
            f'<div class="slot" style="grid-row: {block.row} / span {block.span}; '
            f'grid-column: {block.lane}">{block_html(block, can_act=can_act)}</div>'
            for block in column.blocks
        )
        column.html = mark_safe("".join(parts))  # noqa: S308 - built from escaped parts
    return board


def _open_and_off_bands(
    *,
    hours: Iterable[tuple[int, int, time, time, str]],
    time_off: Iterable[tuple[int, datetime, datetime, str]],
    columns_by: dict[tuple[int, date], Column],
    days_by_weekday: dict[int, list[date]],
    zone: Any,
) -> None:
    for staff_id, weekday, start_time, end_time, location_zone in hours:
        for day in days_by_weekday.get(weekday, []):
            column = columns_by.get((staff_id, day))
            if column is not None:
                column.bands.append(
                    Band(
                        "open",
                        _wall_minutes(day, start_time, location_zone, zone),
                        _wall_minutes(day, end_time, location_zone, zone),
                    )
                )
    for staff_id, start, end, reason in time_off:
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        for (column_staff, day), column in columns_by.items():
            if column_staff != staff_id:
                continue
            first, last = _minutes(start, zone, day), _minutes(end, zone, day)
            day_start, day_end = local_day_bounds(day, getattr(zone, "key", "UTC"))
            if start < day_end and end > day_start and last > first:
                column.bands.append(Band("off", first, last, reason or _("Time off")))


def day_board(
    *,
    tenant: Business,
    day: date,
    now: datetime,
    location_id: int | None = None,
    staff_id: int | None = None,
    service_id: int | None = None,
    only_staff: StaffMember | None = None,
) -> Board:
    """One column per active staff member (those the filters keep), their appointments of `day`
    (business time) as blocks, their working hours and time off as bands. Four queries, five
    when a deactivated staff member still has appointments that day."""
    zone = zoneinfo.ZoneInfo(tenant.timezone)
    today = now.astimezone(zone).date()
    start, end = local_day_bounds(day, tenant.timezone)
    staff_query = StaffMember.objects.filter(tenant=tenant, is_active=True)
    appointment_query = Appointment.objects.filter(tenant=tenant, start__gte=start, start__lt=end)
    if only_staff is not None:
        staff_query = staff_query.filter(pk=only_staff.pk)
        appointment_query = appointment_query.filter(staff_id=only_staff.pk)
    if staff_id is not None:
        staff_query = staff_query.filter(pk=staff_id)
        appointment_query = appointment_query.filter(staff_id=staff_id)
    if location_id is not None:
        staff_query = staff_query.filter(
            pk__in=StaffLocation.objects.filter(tenant=tenant, location_id=location_id).values(
                "staff_id"
            )
        )
        appointment_query = appointment_query.filter(location_id=location_id)
    if service_id is not None:
        staff_query = staff_query.filter(
            pk__in=StaffService.objects.filter(tenant=tenant, service_id=service_id).values(
                "staff_id"
            )
        )
        appointment_query = appointment_query.filter(service_id=service_id)
    staff = list(staff_query.order_by("display_name", "pk"))
    appointments = list(for_blocks(appointment_query).order_by("start"))
    known = {member.pk for member in staff}
    missing = {a.staff_id for a in appointments} - known
    if missing:  # deactivated since: their appointments still need a column
        staff.extend(StaffMember.objects.filter(tenant=tenant, pk__in=missing).order_by("pk"))
    columns_by: dict[tuple[int, date], Column] = {
        (member.pk, day): Column(
            key=f"staff-{member.pk}",
            title=member.display_name,
            day=day,
            color=member.color,
            staff=member,
            is_today=day == today,
        )
        for member in staff
    }
    words = texts()
    for appointment in appointments:
        columns_by[(appointment.staff_id, day)].blocks.append(
            block_for(appointment, zone=zone, day=day, now=now, today=today, words=words)
        )
    ids = [member.pk for member in staff]
    hours = WorkingHours.objects.filter(tenant=tenant, weekday=day.weekday(), staff_id__in=ids)
    if location_id is not None:
        hours = hours.filter(location_id=location_id)
    _open_and_off_bands(
        hours=hours.values_list(
            "staff_id", "weekday", "start_time", "end_time", "location__timezone"
        ),
        time_off=TimeOff.objects.filter(
            tenant=tenant, staff_id__in=ids, start__lt=end, end__gt=start
        ).values_list("staff_id", "start", "end", "reason"),
        columns_by=columns_by,
        days_by_weekday={day.weekday(): [day]},
        zone=zone,
    )
    return _lay_out(list(columns_by.values()), now=now, zone=zone)


def week_board(*, tenant: Business, staff: StaffMember, day: date, now: datetime) -> Board:
    """One staff member's week (Monday to Sunday around `day`): a column per day. Three queries."""
    zone = zoneinfo.ZoneInfo(tenant.timezone)
    today = now.astimezone(zone).date()
    monday = day - timedelta(days=day.weekday())
    days = [monday + timedelta(days=i) for i in range(7)]
    start = local_day_bounds(days[0], tenant.timezone)[0]
    end = local_day_bounds(days[-1], tenant.timezone)[1]
    columns_by = {
        (staff.pk, d): Column(key=f"day-{d.isoformat()}", title="", day=d, is_today=d == today)
        for d in days
    }
    appointments = for_blocks(
        Appointment.objects.filter(tenant=tenant, staff=staff, start__gte=start, start__lt=end)
    ).order_by("start")
    words = texts()
    for appointment in appointments:
        local_day = appointment.start.astimezone(zone).date()
        columns_by[(staff.pk, local_day)].blocks.append(
            block_for(appointment, zone=zone, day=local_day, now=now, today=today, words=words)
        )
    _open_and_off_bands(
        hours=WorkingHours.objects.filter(tenant=tenant, staff=staff).values_list(
            "staff_id", "weekday", "start_time", "end_time", "location__timezone"
        ),
        time_off=TimeOff.objects.filter(
            tenant=tenant, staff=staff, start__lt=end, end__gt=start
        ).values_list("staff_id", "start", "end", "reason"),
        columns_by=columns_by,
        days_by_weekday={d.weekday(): [d] for d in days},
        zone=zone,
    )
    return _lay_out(list(columns_by.values()), now=now, zone=zone)


# --- The front desk's list of the day ------------------------------------------------------


@dataclass
class DeskRow:
    appointment: Appointment
    state: str
    state_label: str
    actions: list[str]
    start_label: str
    arrived_label: str
    waiting_minutes: int | None  # since check-in, while waiting
    waited_minutes: int | None  # from check-in to the start of the service
    late_minutes: int | None  # expected and not here yet, past the start
    url: str = ""
    links: list[Link] = field(default_factory=list)


@dataclass
class Desk:
    waiting: list[DeskRow]
    in_service: list[DeskRow]
    expected: list[DeskRow]
    done: list[DeskRow]
    numbers: Numbers


def front_desk_day(
    *, tenant: Business, now: datetime, only_staff: StaffMember | None = None
) -> Desk:
    """Today's appointments for the front desk: who is waiting, in arrival order, and for how
    long; who is with staff; who is expected; who is done. One query."""
    zone = zoneinfo.ZoneInfo(tenant.timezone)
    today = now.astimezone(zone).date()
    start, end = local_day_bounds(today, tenant.timezone)
    query: QuerySet[Appointment] = Appointment.objects.filter(
        tenant=tenant, start__gte=start, start__lt=end
    )
    if only_staff is not None:
        query = query.filter(staff_id=only_staff.pk)
    appointments = list(query.select_related("client", "service", "staff").order_by("start", "pk"))
    desk = Desk([], [], [], [], numbers_for(appointments))
    for a in appointments:
        if a.status == S.CANCELLED:
            continue
        state = state_of(a)
        actions = [
            x
            for x in actions_for(a, now=now, today=today, zone=zone)
            if x in DESK_ACTIONS.get(state, ())
        ]
        url, links = links_for(a, actions)
        row = DeskRow(
            appointment=a,
            state=state,
            state_label=str(STATE_LABELS[state]),
            actions=actions,
            url=url,
            links=links,
            start_label=f"{a.start.astimezone(zone):%H:%M}",
            arrived_label=f"{a.arrived_at.astimezone(zone):%H:%M}" if a.arrived_at else "",
            waiting_minutes=minutes_between(now, a.arrived_at)
            if state == "waiting" and a.arrived_at
            else None,
            waited_minutes=minutes_between(a.started_at, a.arrived_at)
            if a.started_at and a.arrived_at
            else None,
            late_minutes=minutes_between(now, a.start)
            if state in ("scheduled", "confirmed") and now > a.start
            else None,
        )
        if state == "waiting":
            desk.waiting.append(row)
        elif state == "in_service":
            desk.in_service.append(row)
        elif a.status in UPCOMING_STATUSES:
            desk.expected.append(row)
        else:
            desk.done.append(row)
    never = datetime.max.replace(tzinfo=UTC)
    desk.waiting.sort(key=lambda r: r.appointment.arrived_at or never)
    desk.in_service.sort(key=lambda r: r.appointment.arrived_at or never)
    return desk


# --- An appointment's timeline -------------------------------------------------------------

MESSAGE_STATUS_CLASS: dict[str, str] = {
    MessageStatus.PENDING: "planned",
    MessageStatus.QUEUED: "planned",
    MessageStatus.SENDING: "planned",
    MessageStatus.SENT: "sent",
    MessageStatus.DELIVERED: "delivered",
    MessageStatus.FAILED: "failed",
    MessageStatus.SKIPPED: "skipped",
    MessageStatus.UNKNOWN: "unknown",
}


# Why a message was not sent (the outbox's reason codes), as the front desk reads it.
SKIP_REASONS: dict[str, Any] = {
    "too_late": gettext_lazy("Its time had passed when it was planned."),
    "confirmed": gettext_lazy("Not needed: the appointment was confirmed."),
    "cancelled": gettext_lazy("Not needed: the appointment was cancelled."),
    "appointment_over": gettext_lazy("Not needed: the appointment was over."),
    "answered": gettext_lazy("Not needed: the request was answered before it went out."),
    "quiet_hours": gettext_lazy("Held back by the quiet hours."),
    "rule_inactive": gettext_lazy("The reminder rule is switched off."),
    "no_consent": gettext_lazy("The client accepts neither SMS nor email."),
    "no_sms_consent": gettext_lazy("The client does not accept SMS."),
    "no_phone": gettext_lazy("The client has no phone number."),
    "no_email_consent": gettext_lazy("The client does not accept email."),
    "no_email": gettext_lazy("The client has no email address."),
}


@dataclass
class TimelineEntry:
    at: datetime
    kind: str  # "event", "message" or "reply"
    title: str
    detail: str = ""
    who: str = ""
    status: str = ""  # a css class: sent, delivered, failed, unknown, planned, skipped
    status_label: str = ""
    body: str = ""
    order: int = 0


def _who(event: AppointmentEvent) -> str:
    if event.actor_type == "system":
        return _("Puntual")
    if event.actor_type == "client":
        return _("The client")
    return event.actor_label


POLICY_TITLES = {
    "deposit_paid": gettext_lazy("Deposit paid"),
    "fee_paid": gettext_lazy("Fee paid"),
    "fee_waived": gettext_lazy("Fee waived"),
    "credit_kept": gettext_lazy("Deposit kept as credit"),
}


def _policy_words(policy: dict[str, Any], *, currency: str) -> tuple[str, str]:
    """A policy note of the history in words: what happened, and the amounts and how."""
    language = get_language() or "en"

    def money(value: Any) -> str:
        try:
            return format_money(Decimal(str(value)), currency, language)
        except (InvalidOperation, ValueError):
            return str(value)

    what = str(policy.get("what", ""))
    if what == "decision":
        action = dict(PolicyAction.choices).get(policy.get("action", ""), "")
        title = _("Client's terms: %(action)s") % {"action": action} if action else _("Policy")
    else:
        title = str(POLICY_TITLES.get(what, _("Policy")))
    parts = []
    if policy.get("fee") and Decimal(str(policy["fee"])):
        parts.append(_("fee %(fee)s") % {"fee": money(policy["fee"])})
    deposit = policy.get("deposit")
    if deposit and deposit != DepositOutcome.NONE:
        parts.append(str(dict(DepositOutcome.choices).get(deposit, deposit)))
    if policy.get("amount") and Decimal(str(policy["amount"])):
        parts.append(money(policy["amount"]))
    if policy.get("method"):
        parts.append(str(dict(PaymentMethod.choices).get(policy["method"], policy["method"])))
    if policy.get("reference"):
        parts.append(str(policy["reference"]))
    return title, " · ".join(parts)


def _event_entry(
    event: AppointmentEvent, *, zone: Any, staff_names: dict[int, str], currency: str = "EUR"
) -> TimelineEntry:
    channel = event.get_channel_display()
    entry = TimelineEntry(
        at=event.at,
        kind="event",
        title=str(event.get_kind_display()),
        who=_who(event),
        detail=channel,
        body=event.reason,
        order=event.pk,
    )
    status_labels = dict(S.choices)
    if event.kind == EventKind.CREATED:
        entry.title = (
            _("Booking requested") if event.to_status == S.REQUESTED else _("Appointment booked")
        )
    elif event.kind in (EventKind.STATUS, EventKind.CORRECTED):
        entry.title = str(status_labels.get(event.to_status, event.to_status))
        if event.kind == EventKind.CORRECTED:
            entry.title = _("Corrected to %(status)s") % {"status": entry.title}
    elif event.kind == EventKind.RESCHEDULED:
        moved = event.data or {}

        def where(part: dict[str, Any]) -> str:
            try:
                when = datetime.fromisoformat(str(part.get("start"))).astimezone(zone)
            except ValueError:
                return ""
            name = staff_names.get(int(part.get("staff") or 0), "")
            return f"{when:%d/%m %H:%M}" + (f" · {name}" if name else "")

        entry.title = _("Moved")
        entry.detail = _("from %(old)s to %(new)s") % {
            "old": where(moved.get("from") or {}),
            "new": where(moved.get("to") or {}),
        }
    elif event.kind == EventKind.NOTE:
        data = event.data or {}
        if "policy" in data:
            entry.title, entry.detail = _policy_words(data["policy"], currency=currency)
        elif "message" in data:
            entry.title = _("Asked to send the link again")
        else:
            entry.title = _("Note")
    return entry


def appointment_timeline(appointment: Appointment, *, zone: Any) -> list[TimelineEntry]:
    """The appointment's events, the messages sent about it (with their delivery status) and
    the client's SMS replies about it, merged by time. Three queries (four after a move)."""
    events = list(
        AppointmentEvent.objects.filter(tenant_id=appointment.tenant_id, appointment=appointment)
    )
    moved_staff = {
        int(part.get("staff") or 0)
        for event in events
        if event.kind == EventKind.RESCHEDULED
        for part in ((event.data or {}).get("from") or {}, (event.data or {}).get("to") or {})
    } - {0}
    staff_names = (
        dict(
            StaffMember.objects.filter(
                tenant_id=appointment.tenant_id, pk__in=moved_staff
            ).values_list("pk", "display_name")
        )
        if moved_staff
        else {}
    )
    currency = appointment.tenant.currency
    entries = [
        _event_entry(e, zone=zone, staff_names=staff_names, currency=currency) for e in events
    ]
    status_labels = dict(MessageStatus.choices)
    for message in OutboundMessage.objects.filter(
        tenant_id=appointment.tenant_id, appointment=appointment
    ).order_by("send_at", "pk"):
        title = (
            _("Link sent again")
            if message.dedupe_key.startswith("resend:")
            else str(message.get_kind_display())
        )
        if message.rule_id is not None and message.kind == "rule":
            title = _("Reminder")
        where = " · ".join(
            part
            for part in (message.get_channel_display() if message.channel else "", message.to)
            if part
        )
        entries.append(
            TimelineEntry(
                at=message.sent_at or message.send_at,
                kind="message",
                title=title,
                detail=where,
                status=MESSAGE_STATUS_CLASS.get(message.status, "planned"),
                status_label=str(status_labels.get(message.status, message.status)),
                body=str(SKIP_REASONS.get(message.status_reason, message.status_reason)),
                order=message.pk,
            )
        )
    for reply in InboundMessage.objects.filter(
        tenant_id=appointment.tenant_id, appointment=appointment
    ):
        entries.append(
            TimelineEntry(
                at=reply.received_at,
                kind="reply",
                title=_("SMS from the client"),
                detail=str(reply.get_outcome_display()),
                body=reply.body,
                status="handled" if reply.handled_at else "",
                status_label=_("Handled") if reply.handled_at else "",
                order=reply.pk,
            )
        )
    entries.sort(key=lambda e: (e.at, {"event": 0, "message": 1, "reply": 2}[e.kind], e.order))
    return entries
