"""How the report's figures read: formatted numbers and the period comparison sentences."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from reports.selectors import Indicators, Report

# The indicators compared with the previous period, in the order the page shows them.
HEADLINES: tuple[tuple[str, object], ...] = (
    ("no_show_rate", gettext_lazy("No-show rate")),
    ("late_cancellation_rate", gettext_lazy("Late-cancellation rate")),
    ("on_time_cancellation_rate", gettext_lazy("On-time cancellation rate")),
    ("confirmation_rate", gettext_lazy("Confirmation rate")),
    ("utilisation", gettext_lazy("Utilisation")),
)


def percent(value: float | None) -> str:
    """0.061 -> "6.1 %" (in the active language's number format); None -> "—"."""
    if value is None:
        return "—"
    return f"{number_format(round(value * 100, 1), 1)}\u00a0%"


def minutes(value: float | None) -> str:
    if value is None:
        return "—"
    return _("%(minutes)s min") % {"minutes": number_format(round(value, 1), 1)}


def hours(value: float | None) -> str:
    if value is None:
        return "—"
    return _("%(hours)s h") % {"hours": number_format(round(value, 1), 1)}


@dataclass(frozen=True)
class Comparison:
    name: str
    label: str
    value: float | None
    previous: float | None
    sentence: str
    # "better", "worse" or "" (no change, or no figure): the page colours the sentence.
    verdict: str


def _sentence(label: str, now: float | None, before: float | None, when: str) -> str:
    values = {"indicator": label, "value": percent(now), "previous": percent(before), "when": when}
    if now is None:
        return _("%(indicator)s: no figure for this period") % values
    if before is None:
        return _("%(indicator)s %(value)s (no figure for %(when)s)") % values
    if percent(now) == percent(before):
        return _("%(indicator)s %(value)s, the same as %(when)s") % values
    if now < before:
        return _("%(indicator)s %(value)s, down from %(previous)s %(when)s") % values
    return _("%(indicator)s %(value)s, up from %(previous)s %(when)s") % values


# For these, a lower figure is the better one.
LOWER_IS_BETTER = {"no_show_rate", "late_cancellation_rate"}


def comparisons(report: Report) -> list[Comparison]:
    when = report.period.previous_label()
    result = []
    for name, label in HEADLINES:
        now = getattr(report.totals, name)
        before = getattr(report.previous, name)
        verdict = ""
        if now is not None and before is not None and percent(now) != percent(before):
            better = now < before if name in LOWER_IS_BETTER else now > before
            verdict = "better" if better else "worse"
        result.append(
            Comparison(
                name, str(label), now, before, _sentence(str(label), now, before, when), verdict
            )
        )
    return result


def headline_values(indicators: Indicators) -> dict[str, str]:
    return {name: percent(getattr(indicators, name)) for name, _label in HEADLINES}
