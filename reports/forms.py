"""The reports page's query (period, filters, grouping) and its scheduled-report form."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from appointments.models import Service, StaffMember
from policies.choices import Tier
from reports.models import Frequency
from reports.periods import MAX_DAYS, Period, presets
from reports.selectors import GroupBy, ReportFilters, Segment
from tenants.models import Business, Location, Membership
from tenants.text import NoControlCharactersMixin

PERIOD_CHOICES = (
    ("last_month", _("Last month")),
    ("this_month", _("This month")),
    ("last_week", _("Last week")),
    ("last_90_days", _("Last 90 days")),
    ("last_12_months", _("Last 12 months")),
    ("custom", _("Dates below")),
)
# One select for the client segment: new or returning, or a reliability tier.
SEGMENT_CHOICES = (
    ("", _("All clients")),
    *Segment.CHOICES,
    *(
        (f"tier:{value}", format_lazy(_("Tier: {tier}"), tier=label))
        for value, label in Tier.choices
    ),
)


class ReportQueryForm(NoControlCharactersMixin, forms.Form):
    period = forms.ChoiceField(label=_("Period"), choices=PERIOD_CHOICES, required=False)
    location: Any = forms.ModelChoiceField(
        label=_("Location"),
        queryset=Location.objects.none(),
        required=False,
        empty_label=_("All locations"),
    )
    staff: Any = forms.ModelChoiceField(
        label=_("Staff member"),
        queryset=StaffMember.objects.none(),
        required=False,
        empty_label=_("All staff"),
    )
    service: Any = forms.ModelChoiceField(
        label=_("Service"),
        queryset=Service.objects.none(),
        required=False,
        empty_label=_("All services"),
    )
    segment = forms.ChoiceField(label=_("Clients"), choices=SEGMENT_CHOICES, required=False)
    group_by = forms.ChoiceField(
        label=_("Split by"), choices=(("", _("Nothing")), *GroupBy.CHOICES), required=False
    )

    def __init__(
        self, data: Any = None, *args: Any, tenant: Business, today: date, **kwargs: Any
    ) -> None:
        if data is not None:
            # Dates without a period name are a custom period; a named period shows its dates.
            data = data.copy()
            if not data.get("period") and (data.get("from") or data.get("to")):
                data["period"] = "custom"
            named = presets(today).get(data.get("period", ""))
            if named is not None:
                data["from"], data["to"] = named.start.isoformat(), named.end.isoformat()
        super().__init__(data, *args, **kwargs)
        self.today = today
        # "from" and "to", as in the API, are keywords in Python: declared here.
        default = presets(today)["last_month"]
        self.fields["from"] = forms.DateField(
            label=_("From"), required=False, initial=default.start
        )
        self.fields["to"] = forms.DateField(label=_("To"), required=False, initial=default.end)
        self.fields["location"].queryset = Location.objects.filter(tenant=tenant)  # type: ignore[attr-defined]
        self.fields["staff"].queryset = StaffMember.objects.filter(tenant=tenant)  # type: ignore[attr-defined]
        self.fields["service"].queryset = Service.objects.filter(tenant=tenant)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("from"), data.get("to")
        if data.get("period") == "custom":
            if not (start and end):
                raise forms.ValidationError(_("Give both dates, or choose a period."))
            if end < start:
                raise forms.ValidationError(_("The end date is before the start date."))
            if (end - start).days + 1 > MAX_DAYS:
                raise forms.ValidationError(
                    _("A report covers at most %(days)s days.") % {"days": MAX_DAYS}
                )
            if not (2000 <= start.year and end.year <= 2100):
                raise forms.ValidationError(_("Choose dates between 2000 and 2100."))
        return data

    def query(self) -> tuple[Period, ReportFilters, str | None, str]:
        """The period, filters, grouping and period's name asked (defaults if invalid)."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        named = presets(self.today)
        name = data.get("period") or "last_month"
        period = Period(data["from"], data["to"]) if name == "custom" else named[name]
        segment = data.get("segment") or ""
        filters = ReportFilters(
            location_id=data["location"].pk if data.get("location") else None,
            staff_id=data["staff"].pk if data.get("staff") else None,
            service_id=data["service"].pk if data.get("service") else None,
            segment=segment if segment in Segment.ALL else None,
            tier=segment.removeprefix("tier:") if segment.startswith("tier:") else None,
        )
        return period, filters, data.get("group_by") or None, name


class SubscriptionForm(NoControlCharactersMixin, forms.Form):
    frequency = forms.ChoiceField(choices=Frequency.choices)
    is_active = forms.BooleanField(label=_("Send it"), required=False)
    send_hour = forms.IntegerField(
        label=_("At (hour, local time)"), min_value=0, max_value=23, initial=7
    )
    recipients: Any = forms.ModelMultipleChoiceField(
        label=_("To"),
        queryset=Membership.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, tenant: Business, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["recipients"].queryset = (  # type: ignore[attr-defined]
            Membership.objects.filter(tenant=tenant, is_active=True).select_related("user")
        )
        self.fields["recipients"].label_from_instance = lambda m: m.user.get_full_name()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("is_active") and not data.get("recipients"):
            raise forms.ValidationError(_("Choose who receives the report."))
        return data
