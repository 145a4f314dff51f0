"""The period comparison sentences and the trend chart's geometry."""

from __future__ import annotations

from datetime import date

from django.utils import translation

from reports.charts import line_chart
from reports.periods import Period
from reports.selectors import Indicators, Report, ReportFilters, TrendPoint
from reports.texts import comparisons, percent

OCTOBER = Period(date(2026, 10, 1), date(2026, 10, 31))


def _report(now: Indicators, before: Indicators, period: Period = OCTOBER) -> Report:
    return Report(
        period=period,
        previous_period=period.previous(),
        filters=ReportFilters(),
        group_by=None,
        totals=now,
        previous=before,
    )


def test_a_lower_no_show_rate_reads_down_and_better() -> None:
    now = Indicators(attended=984, no_shows=64)  # 6.1 %
    before = Indicators(attended=800, no_shows=103)  # 11.4 %
    first = comparisons(_report(now, before))[0]
    assert first.sentence == "No-show rate 6.1\u00a0%, down from 11.4\u00a0% last month"
    assert first.verdict == "better"


def test_a_higher_late_cancellation_rate_reads_up_and_worse() -> None:
    now = Indicators(appointments=10, late_cancellations=2)
    before = Indicators(appointments=10, late_cancellations=1)
    late = comparisons(_report(now, before))[1]
    assert late.sentence == "Late-cancellation rate 20.0\u00a0%, up from 10.0\u00a0% last month"
    assert late.verdict == "worse"


def test_no_figure_and_the_same_figure_and_weeks() -> None:
    week = Period(date(2026, 10, 5), date(2026, 10, 11))
    sentences = [c.sentence for c in comparisons(_report(Indicators(), Indicators(), week))]
    assert sentences[0] == "No-show rate: no figure for this period"
    same = comparisons(
        _report(Indicators(attended=9, no_shows=1), Indicators(attended=18, no_shows=2), week)
    )[0]
    assert same.sentence == "No-show rate 10.0\u00a0%, the same as last week"
    assert same.verdict == ""
    other = Period(date(2026, 10, 3), date(2026, 10, 12))
    only_now = comparisons(_report(Indicators(attended=1), Indicators(), other))[0]
    assert only_now.sentence == "No-show rate 0.0\u00a0% (no figure for the previous period)"


def test_spanish_numbers_use_a_decimal_comma() -> None:
    with translation.override("es"):
        assert percent(0.061) == "6,1\u00a0%"


def test_the_chart_scales_to_the_next_ten_percent_and_leaves_gaps() -> None:
    months = [Period(date(2026, m, 1), date(2026, m, 28)) for m in (1, 2, 3)]
    points = [
        TrendPoint(months[0], Indicators(attended=3, no_shows=1)),  # 25 %
        TrendPoint(months[1], Indicators()),  # no figure: no dot
        TrendPoint(months[2], Indicators(attended=1, no_shows=0)),  # 0 %
    ]
    chart = line_chart(
        name="no_show_rate",
        title="No-show rate",
        points=points,
        attribute="no_show_rate",
        bucket="month",
    )
    assert chart.top_label == "30.0\u00a0%"
    assert [d.value for d in chart.dots] == ["25.0\u00a0%", "0.0\u00a0%"]
    assert chart.dots[1].y == chart.baseline_y
    assert chart.dots[0].y < chart.baseline_y
    assert len(chart.polyline.split()) == 2
