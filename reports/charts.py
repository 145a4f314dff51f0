"""Trend charts as server-rendered SVG geometry (the template draws it; no JavaScript)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.formats import date_format

from reports.periods import Period
from reports.selectors import TrendPoint
from reports.texts import percent

WIDTH = 320
HEIGHT = 150
PAD_LEFT = 50
PAD_RIGHT = 8
PAD_TOP = 10
PAD_BOTTOM = 22


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    label: str  # the bucket, e.g. "Jun 2026"
    value: str  # e.g. "6.1 %"


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    width: int
    height: int
    polyline: str
    dots: list[Dot]
    top_label: str  # the y axis' maximum, e.g. "20 %"
    baseline_y: float
    top_y: float
    first_label: str
    last_label: str
    empty: bool


def bucket_label(period: Period, bucket: str) -> str:
    if bucket == "month":
        return date_format(period.start, "M Y")
    return date_format(period.start, "j M")


def line_chart(
    *, name: str, title: str, points: list[TrendPoint], attribute: str, bucket: str
) -> Chart:
    """A rate (0-1) over the trend's buckets. A bucket without a figure gets no dot (the
    line joins its neighbours)."""
    values = [getattr(point.indicators, attribute) for point in points]
    known = [v for v in values if v is not None]
    # The axis' top: the next 10 % above the highest value (at least 10 %), so small rates
    # still show their movement and the axis reads as a round figure.
    top = max(0.1, min(1.0, (int(max(known, default=0) * 10) + 1) / 10))
    inner_w = WIDTH - PAD_LEFT - PAD_RIGHT
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    step = inner_w / max(1, len(points) - 1)
    dots = []
    segments: list[str] = []
    for index, (point, value) in enumerate(zip(points, values, strict=True)):
        if value is None:
            continue
        x = round(PAD_LEFT + index * step, 1)
        y = round(PAD_TOP + inner_h * (1 - min(value, top) / top), 1)
        dots.append(Dot(x, y, bucket_label(point.period, bucket), percent(value)))
        segments.append(f"{x},{y}")
    return Chart(
        name=name,
        title=title,
        width=WIDTH,
        height=HEIGHT,
        polyline=" ".join(segments),
        dots=dots,
        top_label=percent(top),
        baseline_y=PAD_TOP + inner_h,
        top_y=PAD_TOP,
        first_label=bucket_label(points[0].period, bucket) if points else "",
        last_label=bucket_label(points[-1].period, bucket) if points else "",
        empty=not dots,
    )
