"""The availability engine's pure part: from plain data to bookable slots. No ORM here.

Two steps, both pure and independent of the server's time zone:

1. `working_intervals` turns weekly working hours (local wall time of the location) into
   absolute UTC intervals for a range of dates. A staff member works at every instant whose
   local clock reading lies inside the day's hours: a wall time skipped by a spring-forward
   change yields nothing, and the hour repeated by a fall-back change is worked twice.
   `subtract` then removes time off.
2. `compute_slots` walks each staff member's open intervals on the slot grid and keeps the
   starts whose service time fits in one open interval and whose blocked range (buffers
   included) overlaps no busy interval. Busy intervals are merged and swept with one pointer,
   so the cost grows with slots plus appointments, never with their product.

All datetimes are aware; intervals are half-open [start, end), as in the database's
exclusion constraint, so back-to-back blocked ranges do not conflict.
"""

from __future__ import annotations

import enum
import functools
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

Interval = tuple[datetime, datetime]
WallHours = tuple[int, time, time]  # (weekday with Monday = 0, from, until) in local wall time

_ZERO = timedelta(0)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True, order=True)
class Slot:
    """A bookable service time [start, end) with the staff member who would take it."""

    start: datetime
    end: datetime
    staff_id: int


@dataclass(frozen=True, slots=True)
class OpenInterval:
    """A stretch of time (UTC) in which a service may be booked: it has to fit in [start, end).

    `grid` says where slot starts fall: each (from, origin) pair means that starts at or after
    `from` (and before the next pair's `from`) are origin + k * step. On most days there is one
    pair, origin being the start of the working hours; on a daylight-saving day the UTC offset
    changes inside the interval and a second pair keeps the starts on the same wall-clock grid
    (09:00, 09:15, ... stays 09:00, 09:15, ... after the change). Empty: the grid starts at
    `start`.
    """

    start: datetime
    end: datetime
    grid: tuple[tuple[datetime, datetime], ...] = ()

    def grid_pairs(self) -> tuple[tuple[datetime, datetime], ...]:
        return self.grid or ((self.start, self.start),)


@dataclass(frozen=True, slots=True)
class StaffSchedule:
    """What one staff member's slots are computed from.

    `open` are sorted, disjoint intervals (working hours minus time off); `busy` are the blocked
    ranges (buffers included) of their appointments that hold time, in any order.
    """

    staff_id: int
    open: Sequence[OpenInterval]
    busy: Sequence[Interval] = field(default_factory=tuple)


class Refusal(enum.StrEnum):
    """Why one start time is not bookable (see `refusal_for`)."""

    TOO_SOON = "too_soon"
    TOO_FAR = "too_far"
    OUTSIDE_HOURS = "outside_hours"
    OFF_GRID = "off_grid"
    TAKEN = "taken"


# ---------------------------------------------------------------------------------------------
# Wall time → UTC


# Every UTC offset in use lies within -12:00..+14:00; the window for one local day is wider.
_BEFORE_DAY = timedelta(hours=15)
_AFTER_DAY = timedelta(hours=13)
# Offsets are sampled this often to find the changes; tzdata never changes twice within it.
_SAMPLE = timedelta(hours=3)
_SECOND = timedelta(seconds=1)


def _offset(tz: ZoneInfo, instant: datetime) -> timedelta:
    offset = instant.astimezone(tz).utcoffset()
    assert offset is not None  # noqa: S101 - a ZoneInfo always has one
    return offset


@functools.lru_cache(maxsize=8192)
def _offset_spans(tz: ZoneInfo, day: date) -> tuple[tuple[datetime, datetime, timedelta], ...]:
    """(from, until, offset) in UTC, covering every instant whose local date can be `day`."""
    midnight = datetime.combine(day, time.min, tzinfo=UTC)
    lo, hi = midnight - _BEFORE_DAY, midnight + timedelta(days=1) + _AFTER_DAY
    spans: list[tuple[datetime, datetime, timedelta]] = []
    span_start, span_offset = lo, _offset(tz, lo)
    sample = lo
    while sample < hi:
        following = min(sample + _SAMPLE, hi)
        following_offset = _offset(tz, following)
        if following_offset != span_offset:
            # Bisect to the first second with the new offset (tzdata changes on whole seconds).
            before, after = sample, following
            while after - before > _SECOND:
                middle = before + ((after - before) // 2 // _SECOND) * _SECOND
                if _offset(tz, middle) == span_offset:
                    before = middle
                else:
                    after = middle
            spans.append((span_start, after, span_offset))
            span_start, span_offset = after, _offset(tz, after)
        sample = following
    spans.append((span_start, hi, span_offset))
    return tuple(spans)


def _merge_wall_hours(hours: Iterable[WallHours]) -> dict[int, list[tuple[time, time]]]:
    """Per weekday, the union of the intervals: overlapping or touching rows make one interval."""
    by_weekday: dict[int, list[tuple[time, time]]] = {}
    for weekday, start, end in sorted(hours):
        if start >= end:
            continue
        merged = by_weekday.setdefault(weekday, [])
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return by_weekday


def working_intervals(
    hours: Iterable[WallHours], *, tz: ZoneInfo | str, start_date: date, end_date: date
) -> list[OpenInterval]:
    """The UTC intervals of weekly wall-time `hours` on each date from `start_date` to `end_date`.

    Inclusive range. The result holds every instant whose local wall-clock reading in `tz` lies
    inside that date's hours: on a spring-forward day an interval is shorter (and a start
    inside the gap begins at the change); on a fall-back day an interval that spans the
    repeated hour contains both of its occurrences. Sorted and disjoint.
    """
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    by_weekday = _merge_wall_hours(hours)
    pieces: list[tuple[datetime, datetime, datetime]] = []
    day = start_date
    while day <= end_date:
        day_hours = by_weekday.get(day.weekday())
        if day_hours:
            spans = _offset_spans(zone, day)
            for start, end in day_hours:
                # The wall-clock reading labelled UTC: minus an offset, it becomes the instant
                # showing that reading under that offset.
                wall_start = datetime.combine(day, start, tzinfo=UTC)
                wall_end = datetime.combine(day, end, tzinfo=UTC)
                for span_start, span_end, offset in spans:
                    lo = max(span_start, wall_start - offset)
                    hi = min(span_end, wall_end - offset)
                    if lo < hi:
                        pieces.append((lo, hi, wall_start - offset))
        day += timedelta(days=1)
    # Pieces that touch are one interval: the offset changed inside it (or, on a fall-back
    # night, one set of hours ends where the repeated wall time enters another).
    pieces.sort()
    intervals: list[OpenInterval] = []
    for lo, hi, origin in pieces:
        if intervals and intervals[-1].end == lo:
            last = intervals[-1]
            intervals[-1] = OpenInterval(last.start, hi, (*last.grid, (lo, origin)))
        else:
            intervals.append(OpenInterval(lo, hi, ((lo, origin),)))
    return intervals


def _merge_intervals(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted union of half-open intervals (touching ones stay apart: they do not overlap)."""
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if start >= end:
            continue
        if merged and start < merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def subtract(intervals: Sequence[OpenInterval], cuts: Iterable[Interval]) -> list[OpenInterval]:
    """`intervals` (sorted, disjoint) minus `cuts` (time off, any order). Grids are kept."""
    merged = _merge_intervals(cuts)
    if not merged:
        return list(intervals)
    cut_ends = [end for _, end in merged]
    result: list[OpenInterval] = []
    for interval in intervals:
        cursor = interval.start
        i = bisect_right(cut_ends, cursor)  # first cut that ends after the interval starts
        while i < len(merged) and merged[i][0] < interval.end:
            cut_start, cut_end = merged[i]
            if cut_start > cursor:
                result.append(_clip(interval, cursor, cut_start))
            cursor = max(cursor, cut_end)
            i += 1
        if cursor < interval.end:
            result.append(_clip(interval, cursor, interval.end))
    return result


def _clip(interval: OpenInterval, start: datetime, end: datetime) -> OpenInterval:
    if start == interval.start and end == interval.end:
        return interval
    pairs = interval.grid_pairs()
    kept = [
        pair
        for i, pair in enumerate(pairs)
        if pair[0] < end and (i + 1 == len(pairs) or pairs[i + 1][0] > start)
    ]
    return OpenInterval(start, end, tuple(kept))


# ---------------------------------------------------------------------------------------------
# Slots


def _align_up(instant: datetime, origin: datetime, step: timedelta) -> datetime:
    """The first origin + k * step at or after `instant`."""
    return origin - ((origin - instant) // step) * step


def compute_slots(
    schedules: Iterable[StaffSchedule],
    *,
    duration: timedelta,
    step: timedelta,
    buffer_before: timedelta = _ZERO,
    buffer_after: timedelta = _ZERO,
    earliest: datetime | None = None,
    latest: datetime | None = None,
) -> list[Slot]:
    """Every bookable (start, staff) pair, sorted by start, then staff id.

    A start is bookable for a staff member when: earliest <= start <= latest; [start,
    start + duration) lies inside one of their open intervals, on its slot grid; and
    [start - buffer_before, start + duration + buffer_after) overlaps none of their busy
    intervals. Collapse to one staff member per start with `one_per_start`.
    """
    if step <= _ZERO or duration <= _ZERO:
        raise ValueError("The duration and the slot step must be positive.")
    slots: list[Slot] = []
    for schedule in schedules:
        slots.extend(
            _staff_slots(
                schedule,
                duration=duration,
                step=step,
                buffer_before=buffer_before,
                buffer_after=buffer_after,
                earliest=earliest,
                latest=latest,
            )
        )
    slots.sort(key=_by_start_then_staff)
    return slots


def _by_start_then_staff(slot: Slot) -> tuple[datetime, int]:
    return (slot.start, slot.staff_id)


def _staff_slots(
    schedule: StaffSchedule,
    *,
    duration: timedelta,
    step: timedelta,
    buffer_before: timedelta,
    buffer_after: timedelta,
    earliest: datetime | None,
    latest: datetime | None,
) -> list[Slot]:
    busy = _merge_intervals(schedule.busy)
    busy_ends = [end for _, end in busy]
    n_busy = len(busy)
    staff_id = schedule.staff_id
    # The blocked range of a start c is [c - before, c + after_start); it is free when every
    # busy interval ends by c - before or starts at or after c + after_start.
    after_start = duration + buffer_after
    slots: list[Slot] = []
    for interval in schedule.open:
        last_start = interval.end - duration
        if latest is not None and latest < last_start:
            last_start = latest
        pairs = interval.grid_pairs()
        for i, (grid_from, origin) in enumerate(pairs):
            lo = max(grid_from, interval.start)
            if earliest is not None and earliest > lo:
                lo = earliest
            limit = last_start
            if i + 1 < len(pairs) and pairs[i + 1][0] - _MICROSECOND < limit:
                limit = pairs[i + 1][0] - _MICROSECOND  # the next pair's grid takes over there
            start = _align_up(lo, origin, step)
            if start > limit:
                continue
            # Busy intervals ending by the first blocked start can never conflict again: skip
            # them once, then move the pointer forward only.
            j = bisect_right(busy_ends, start - buffer_before)
            while start <= limit:
                blocked_start = start - buffer_before
                while j < n_busy and busy_ends[j] <= blocked_start:
                    j += 1
                if j < n_busy and busy[j][0] < start + after_start:
                    # Jump to the first grid start whose blocked range begins when that one ends.
                    start = _align_up(busy_ends[j] + buffer_before, origin, step)
                    continue
                slots.append(Slot(start, start + duration, staff_id))
                start += step
    return slots


def one_per_start(slots: Iterable[Slot], *, preference: Sequence[int] = ()) -> list[Slot]:
    """One slot per start time, for "any staff member": the staff member who comes first in
    `preference` (staff ids), else the lowest id. Sorted by start."""
    rank = {staff_id: i for i, staff_id in enumerate(preference)}
    unranked = len(rank)
    chosen: dict[datetime, Slot] = {}
    for slot in slots:
        current = chosen.get(slot.start)
        if current is None or (rank.get(slot.staff_id, unranked), slot.staff_id) < (
            rank.get(current.staff_id, unranked),
            current.staff_id,
        ):
            chosen[slot.start] = slot
    return [chosen[start] for start in sorted(chosen)]


def refusal_for(
    schedule: StaffSchedule,
    start: datetime,
    *,
    duration: timedelta,
    step: timedelta,
    buffer_before: timedelta = _ZERO,
    buffer_after: timedelta = _ZERO,
    earliest: datetime | None = None,
    latest: datetime | None = None,
    on_grid: bool = True,
) -> Refusal | None:
    """Why `start` is not a slot `compute_slots` would offer for this schedule; None if it is.

    With `on_grid=False` a start between grid times is accepted (the other rules still apply).
    """
    if earliest is not None and start < earliest:
        return Refusal.TOO_SOON
    if latest is not None and start > latest:
        return Refusal.TOO_FAR
    end = start + duration
    interval = next((o for o in schedule.open if o.start <= start and end <= o.end), None)
    if interval is None:
        return Refusal.OUTSIDE_HOURS
    if on_grid and (start - _origin_at(interval, start)) % step:
        return Refusal.OFF_GRID
    blocked_start, blocked_end = start - buffer_before, end + buffer_after
    if any(b_start < blocked_end and b_end > blocked_start for b_start, b_end in schedule.busy):
        return Refusal.TAKEN
    return None


def _origin_at(interval: OpenInterval, start: datetime) -> datetime:
    pairs = interval.grid_pairs()
    origin = pairs[0][1]
    for grid_from, pair_origin in pairs:
        if grid_from > start:
            break
        origin = pair_origin
    return origin


def schedules_from(
    *,
    staff_ids: Iterable[int],
    open_by_staff: Mapping[int, Sequence[OpenInterval]],
    time_off_by_staff: Mapping[int, Iterable[Interval]],
    busy_by_staff: Mapping[int, Sequence[Interval]],
) -> list[StaffSchedule]:
    """Assemble schedules: each staff member's open intervals minus their time off."""
    return [
        StaffSchedule(
            staff_id=staff_id,
            open=subtract(open_by_staff.get(staff_id, ()), time_off_by_staff.get(staff_id, ())),
            busy=busy_by_staff.get(staff_id, ()),
        )
        for staff_id in staff_ids
    ]
