"""Report periods: whole local days of the business, compared with the period before."""

from __future__ import annotations

import calendar
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils.translation import gettext_lazy as _

# A report reads at most this many days (the API refuses longer ranges with a 400).
MAX_DAYS = 366
TREND_BUCKETS = 12


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def month_end(day: date) -> date:
    return add_months(month_start(day), 1) - timedelta(days=1)


@dataclass(frozen=True)
class Period:
    """From `start` to `end`, both included, in the business's local dates."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def is_month(self) -> bool:
        return self.start.day == 1 and self.end == month_end(self.start)

    @property
    def is_week(self) -> bool:
        return self.start.weekday() == 0 and self.days == 7

    def bounds(self, zone: zoneinfo.ZoneInfo) -> tuple[datetime, datetime]:
        """The period as aware datetimes [start, end) at local midnights."""
        return (
            datetime.combine(self.start, time(0), tzinfo=zone),
            datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=zone),
        )

    def previous(self) -> Period:
        """The calendar month before a month, the week before a week, else as many days."""
        if self.is_month:
            start = add_months(self.start, -1)
            return Period(start, month_end(start))
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def previous_label(self) -> str:
        if self.is_month:
            return str(_("last month"))
        if self.is_week:
            return str(_("last week"))
        return str(_("the previous period"))

    @property
    def bucket(self) -> str:
        """How the trend is cut: months for a month or more, weeks for a week or more."""
        if self.days >= 28:
            return "month"
        if self.days >= 7:
            return "week"
        return "day"

    def trend_buckets(self) -> list[Period]:
        """The TREND_BUCKETS buckets up to the one holding the period's end, oldest first."""
        if self.bucket == "month":
            last = month_start(self.end)
            starts = [add_months(last, -i) for i in range(TREND_BUCKETS - 1, -1, -1)]
            return [Period(s, month_end(s)) for s in starts]
        if self.bucket == "week":
            last = self.end - timedelta(days=self.end.weekday())
            starts = [last - timedelta(weeks=i) for i in range(TREND_BUCKETS - 1, -1, -1)]
            return [Period(s, s + timedelta(days=6)) for s in starts]
        starts = [self.end - timedelta(days=i) for i in range(TREND_BUCKETS - 1, -1, -1)]
        return [Period(s, s) for s in starts]


def last_month(today: date) -> Period:
    start = add_months(month_start(today), -1)
    return Period(start, month_end(start))


def last_week(today: date) -> Period:
    monday = today - timedelta(days=today.weekday()) - timedelta(weeks=1)
    return Period(monday, monday + timedelta(days=6))


def this_month(today: date) -> Period:
    return Period(month_start(today), month_end(today))


def presets(today: date) -> dict[str, Period]:
    """The periods the reports page offers by name."""
    return {
        "last_month": last_month(today),
        "this_month": this_month(today),
        "last_week": last_week(today),
        "last_90_days": Period(today - timedelta(days=90), today - timedelta(days=1)),
        "last_12_months": Period(
            add_months(month_start(today), -12), month_start(today) - timedelta(days=1)
        ),
    }
