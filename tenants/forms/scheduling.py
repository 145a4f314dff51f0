"""What the business offers: services, staff, weekly hours, time off, booking rules."""

from __future__ import annotations

from typing import Any, ClassVar, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from appointments.models import BookingRules, Service, StaffMember, Weekday
from tenants.forms.base import (
    ColorInput,
    DateTimeLocalInput,
    ModelFieldsForm,
    TimeInput,
)
from tenants.models import Business, Location, User
from tenants.text import NoControlCharactersMixin

# --- Services, staff, hours, booking rules -----------------------------------------------


class ServiceForm(ModelFieldsForm):
    model = Service
    model_fields = (
        "name",
        "description",
        "duration_minutes",
        "buffer_before_minutes",
        "buffer_after_minutes",
        "price",
        "mode",
        "meeting_link_template",
        "color",
        "is_active",
        "min_notice_minutes",
        "max_advance_days",
        "slot_step_minutes",
    )
    widgets: ClassVar[dict[str, Any]] = {
        "description": forms.Textarea(attrs={"rows": 2}),
        "color": ColorInput(),
        "mode": forms.RadioSelect(),
    }

    def __init__(self, *args: Any, tenant: Business, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["staff"] = forms.ModelMultipleChoiceField(
            label=_("Who performs it"),
            queryset=StaffMember.objects.filter(tenant=tenant).order_by("display_name"),
            required=False,
            widget=forms.CheckboxSelectMultiple(),
        )


class StaffForm(ModelFieldsForm):
    model = StaffMember
    model_fields = ("display_name", "color", "is_active")
    widgets: ClassVar[dict[str, Any]] = {"color": ColorInput()}

    def __init__(
        self, *args: Any, tenant: Business, staff: StaffMember | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.tenant, self.staff = tenant, staff
        self.fields["services"] = forms.ModelMultipleChoiceField(
            label=_("services"),
            queryset=Service.objects.filter(tenant=tenant).order_by("name"),
            required=False,
            widget=forms.CheckboxSelectMultiple(),
        )
        self.fields["locations"] = forms.ModelMultipleChoiceField(
            label=_("locations"),
            queryset=Location.objects.filter(tenant=tenant).order_by("name"),
            required=False,
            widget=forms.CheckboxSelectMultiple(),
        )
        self.fields["user"] = forms.ModelChoiceField(
            label=_("user account"),
            help_text=_("The team member who logs in as this person, if any."),
            queryset=_team_users(tenant),
            required=False,
            empty_label=_("— Nobody —"),
        )

    def clean_display_name(self) -> str:
        name = str(self.cleaned_data["display_name"])
        clash = StaffMember.objects.filter(tenant=self.tenant, display_name=name)
        if self.staff is not None:
            clash = clash.exclude(pk=self.staff.pk)
        if clash.exists():
            raise ValidationError(_("This name is already used in this business."))
        return name


def _team_users(tenant: Business) -> Any:
    return User.objects.filter(memberships__tenant=tenant, memberships__is_active=True).order_by(
        "email"
    )


class HoursRowForm(NoControlCharactersMixin, forms.Form):
    """One weekly interval. A row left empty is ignored; "remove" drops an existing one."""

    weekday = forms.TypedChoiceField(
        label=_("weekday"), coerce=int, empty_value=None, required=False
    )
    location: forms.ModelChoiceField[Location] = forms.ModelChoiceField(
        label=_("location"), queryset=Location.objects.none(), required=False
    )
    start_time = forms.TimeField(label=_("from"), widget=TimeInput(), required=False)
    end_time = forms.TimeField(label=_("until"), widget=TimeInput(), required=False)
    remove = forms.BooleanField(label=_("remove"), required=False)

    def __init__(self, *args: Any, tenant: Business, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        weekday = cast(forms.TypedChoiceField, self.fields["weekday"])
        weekday.choices = [("", "—"), *Weekday.choices]
        location = cast("forms.ModelChoiceField[Location]", self.fields["location"])
        location.queryset = Location.objects.filter(tenant=tenant).order_by("name")
        location.empty_label = "—"

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return bool(data.get("remove")) or not any(
            data.get(name) is not None for name in ("weekday", "location", "start_time", "end_time")
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.is_blank():
            return data
        for name, message in (
            ("weekday", _("Choose the day.")),
            ("location", _("Choose the location.")),
            ("start_time", _("Give the start.")),
            ("end_time", _("Give the end.")),
        ):
            if data.get(name) is None and name not in self.errors:
                self.add_error(name, message)
        return data


class BaseHoursFormSet(forms.BaseFormSet):
    def __init__(self, *args: Any, tenant: Business, **kwargs: Any) -> None:
        self.tenant = tenant
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {**super().get_form_kwargs(index), "tenant": self.tenant}


# Blank rows under the existing intervals: enough to add a split day in one save.
HOURS_EXTRA_ROWS = 3
HoursFormSet = cast(
    "type[BaseHoursFormSet]",
    forms.formset_factory(
        HoursRowForm,
        formset=BaseHoursFormSet,
        extra=HOURS_EXTRA_ROWS,
        max_num=70,
        validate_max=True,
    ),
)


class TimeOffForm(NoControlCharactersMixin, forms.Form):
    start = forms.DateTimeField(label=_("from"), widget=DateTimeLocalInput())
    end = forms.DateTimeField(label=_("until"), widget=DateTimeLocalInput())
    reason = forms.CharField(label=_("reason"), max_length=200, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start is not None and end is not None and start >= end:
            self.add_error("end", _("The end must be after the start."))
        return data


class BookingRulesForm(ModelFieldsForm):
    model = BookingRules
    model_fields = ("min_notice_minutes", "max_advance_days", "slot_step_minutes")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
