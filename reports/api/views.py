"""`GET /api/v1/reports/`: the reports page's numbers for integrators."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from appointments.models import Service, StaffMember
from appointments.views_common import business_today
from policies.choices import Tier
from reports.periods import MAX_DAYS, Period, last_month
from reports.selectors import GroupBy, ReportFilters, Segment, report_build
from reports.texts import comparisons
from tenants.api.permissions import FrontDeskReads
from tenants.models import Business, Location


def _tenant(request: Request) -> Business:
    return request._request.tenant  # type: ignore[attr-defined]


class ReportQuerySerializer(serializers.Serializer[Any]):
    start = serializers.DateField(
        required=False, help_text="First day (business time). With `to`; default: last month."
    )
    end = serializers.DateField(
        required=False, help_text=f"Last day, included. At most {MAX_DAYS} days from `from`."
    )
    group_by = serializers.ChoiceField(
        choices=[value for value, _label in GroupBy.CHOICES], required=False
    )
    location: Any = serializers.PrimaryKeyRelatedField(queryset=Location.objects, required=False)
    staff: Any = serializers.PrimaryKeyRelatedField(queryset=StaffMember.objects, required=False)
    service: Any = serializers.PrimaryKeyRelatedField(queryset=Service.objects, required=False)
    segment = serializers.ChoiceField(choices=list(Segment.ALL), required=False)
    tier = serializers.ChoiceField(choices=Tier.values, required=False)

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # `from` and `to` are Python keywords: renamed here, as the query string spells them.
        fields = super().get_fields()
        fields["from"] = fields.pop("start")
        fields["to"] = fields.pop("end")
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start: date | None = attrs.get("from")
        end: date | None = attrs.get("to")
        if (start is None) != (end is None):
            missing = "to" if end is None else "from"
            raise serializers.ValidationError({missing: [_("Give both dates, or neither.")]})
        if start is not None and end is not None:
            if end < start:
                raise serializers.ValidationError(
                    {"to": [_("The end date is before the start date.")]}
                )
            if (end - start).days + 1 > MAX_DAYS:
                raise serializers.ValidationError(
                    {"to": [_("A report covers at most %(days)s days.") % {"days": MAX_DAYS}]}
                )
            if start.year < 2000 or end.year > 2100:
                raise serializers.ValidationError(
                    {"from": [_("Choose dates between 2000 and 2100.")]}
                )
        return attrs


class PeriodSerializer(serializers.Serializer[Any]):
    start = serializers.DateField()
    end = serializers.DateField()


class GroupSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    label: Any = serializers.CharField()
    indicators = serializers.DictField()


class TrendSerializer(serializers.Serializer[Any]):
    start = serializers.DateField()
    end = serializers.DateField()
    indicators = serializers.DictField()


class ComparisonSerializer(serializers.Serializer[Any]):
    indicator = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    previous = serializers.FloatField(allow_null=True)
    sentence = serializers.CharField()


class ReportOutputSerializer(serializers.Serializer[Any]):
    timezone = serializers.CharField()
    period = PeriodSerializer()
    previous_period = PeriodSerializer()
    group_by = serializers.CharField(allow_null=True)
    totals = serializers.DictField(
        help_text="Rates are fractions (0.061 = 6.1 %); null: no figure."
    )
    previous = serializers.DictField()
    groups = GroupSerializer(many=True)
    trend = TrendSerializer(many=True)
    comparisons = ComparisonSerializer(many=True)


class ReportView(APIView):
    """The business's indicators over a period (as the reports page shows them), optionally
    split by location, staff member, service, client segment or reliability tier.

    Slots freed and refilled from the waitlist and the survey score are null until the
    self-service features exist."""

    # As on the reports page: providers see their own schedule, not the business's figures.
    permission_classes = (FrontDeskReads,)

    @extend_schema(parameters=[ReportQuerySerializer], responses=ReportOutputSerializer)
    def get(self, request: Request) -> Response:
        query = ReportQuerySerializer(data=request.query_params, context={"request": request})
        query.is_valid(raise_exception=True)
        data = query.validated_data
        tenant = _tenant(request)
        now = timezone.now()
        if "from" in data:
            period = Period(data["from"], data["to"])
        else:
            period = last_month(business_today(tenant, now))
        filters = ReportFilters(
            location_id=data["location"].pk if data.get("location") else None,
            staff_id=data["staff"].pk if data.get("staff") else None,
            service_id=data["service"].pk if data.get("service") else None,
            segment=data.get("segment"),
            tier=data.get("tier"),
        )
        report = report_build(
            tenant=tenant, period=period, now=now, filters=filters, group_by=data.get("group_by")
        )
        return Response(
            {
                "timezone": tenant.timezone,
                "period": {"start": period.start, "end": period.end},
                "previous_period": {
                    "start": report.previous_period.start,
                    "end": report.previous_period.end,
                },
                "group_by": report.group_by,
                "totals": report.totals.as_dict(),
                "previous": report.previous.as_trend_dict(),
                "groups": [
                    {"key": g.key, "label": g.label, "indicators": g.indicators.as_dict()}
                    for g in report.groups
                ],
                "trend": [
                    {
                        "start": p.period.start,
                        "end": p.period.end,
                        "indicators": p.indicators.as_trend_dict(),
                    }
                    for p in report.trend
                ],
                "comparisons": [
                    {
                        "indicator": c.name,
                        "value": c.value,
                        "previous": c.previous,
                        "sentence": c.sentence,
                    }
                    for c in comparisons(report)
                ],
            }
        )
