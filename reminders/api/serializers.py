"""Shapes of the reminders API: what was sent to clients, what they answered, and the rules."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from appointments.models import Appointment
from clients.models import Client
from reminders.models import (
    Channel,
    InboundMessage,
    OutboundMessage,
    Purpose,
    ReminderRule,
    RuleChannel,
)
from reminders.services.rules import (
    MAX_OFFSET_MINUTES,
    TEXT_MAX_LENGTH,
    reminder_rule_texts_errors,
)
from tenants.api.fields import StrictCharField
from tenants.api.serializers_base import CachedFieldsMixin
from tenants.middleware import tenant_of


class OutboundMessageSerializer(CachedFieldsMixin, serializers.ModelSerializer[OutboundMessage]):
    # Blank until the message is planned on a channel (a confirmation waiting for its rule).
    channel = serializers.ChoiceField(choices=Channel.choices, allow_blank=True, read_only=True)

    class Meta:
        model = OutboundMessage
        fields = (
            "id",
            "kind",
            "channel",
            "to",
            "status",
            "status_reason",
            "send_at",
            "sent_at",
            "delivered_at",
            "attempts",
        )
        read_only_fields = fields


class InboxClientSerializer(CachedFieldsMixin, serializers.ModelSerializer[Client]):
    class Meta:
        model = Client
        fields = ("id", "name")
        read_only_fields = fields


class InboundMessageSerializer(CachedFieldsMixin, serializers.ModelSerializer[InboundMessage]):
    client = InboxClientSerializer(allow_null=True)
    # "from" is a Python keyword, so the field is put in the class namespace by name.
    vars()["from"] = serializers.CharField(source="from_number")

    class Meta:
        model = InboundMessage
        fields = (
            "id",
            "from",
            "body",
            "received_at",
            "outcome",
            "client",
            "appointment",
            "handled_at",
        )
        read_only_fields = fields


# --- Reminder rules ----------------------------------------------------------------------

# An offset is given in minutes, or as a number of one of these units.
OFFSET_UNITS: dict[str, int] = {"minutes": 1, "hours": 60, "days": 24 * 60}


class RuleTextSerializer(serializers.Serializer[Any]):
    """One language's texts. Each part is optional: an empty one uses Puntual's default."""

    subject = serializers.CharField(
        required=False, allow_blank=True, max_length=TEXT_MAX_LENGTH["subject"]
    )
    body = serializers.CharField(
        required=False, allow_blank=True, max_length=TEXT_MAX_LENGTH["body"]
    )
    sms = serializers.CharField(required=False, allow_blank=True, max_length=TEXT_MAX_LENGTH["sms"])


class RuleTextsField(serializers.DictField):
    """{language: {"subject", "body", "sms"}}. The input is checked whole by the rule services'
    `reminder_rule_texts_errors` (in the serializer's `validate`, which knows the purpose), so
    unknown languages and parts are refused instead of silently dropped."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=RuleTextSerializer(), **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            self.fail("not_a_dict", input_type=type(data).__name__)
        return data


def _clean_texts(texts: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """Only the parts a business wrote: empty ones and empty languages fall back to defaults."""
    cleaned = {lang: {k: v for k, v in parts.items() if v.strip()} for lang, parts in texts.items()}
    return {lang: parts for lang, parts in cleaned.items() if parts}


def _offset(minutes: int) -> tuple[int, str]:
    """The largest whole unit: 2880 minutes are 2 days, 90 minutes 90 minutes."""
    for unit in ("days", "hours"):
        if minutes % OFFSET_UNITS[unit] == 0:
            return minutes // OFFSET_UNITS[unit], unit
    return minutes, "minutes"


class ReminderRuleSerializer(serializers.ModelSerializer[ReminderRule]):
    """A rule as the API shows it: the offset both in minutes and in its largest whole unit.
    The offset counts back from the start, or for a "survey" rule from the end of the visit."""

    offset = serializers.SerializerMethodField()
    offset_unit = serializers.SerializerMethodField()
    texts = RuleTextsField(read_only=True)

    class Meta:
        model = ReminderRule
        fields = (
            "id",
            "name",
            "purpose",
            "channel",
            "offset_minutes",
            "offset",
            "offset_unit",
            "only_if_unconfirmed",
            "is_active",
            "texts",
        )
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.INT)
    def get_offset(self, rule: ReminderRule) -> int:
        return _offset(rule.offset_minutes)[0]

    @extend_schema_field(serializers.ChoiceField(choices=list(OFFSET_UNITS)))
    def get_offset_unit(self, rule: ReminderRule) -> str:
        return _offset(rule.offset_minutes)[1]


class ReminderRuleInputSerializer(serializers.Serializer[Any]):
    """A rule to create or change. The offset: `offset_minutes`, or `offset` with `offset_unit`:
    before the start, or for purpose "survey" (at most one active per business) after the end
    of an attended visit."""

    offset_required = True  # a new rule needs one; a draft being previewed may not have it yet

    name = StrictCharField(max_length=100)
    purpose = serializers.ChoiceField(choices=Purpose.choices)
    channel = serializers.ChoiceField(choices=RuleChannel.choices)
    offset_minutes = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_OFFSET_MINUTES,
        help_text="Before the start; for a survey rule, after the end (at most 7 days).",
    )
    offset = serializers.IntegerField(
        required=False, min_value=1, help_text="As offset_minutes, in offset_unit."
    )
    offset_unit = serializers.ChoiceField(choices=list(OFFSET_UNITS), required=False)
    only_if_unconfirmed = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(required=False)
    texts = RuleTextsField(
        required=False,
        help_text='By language, e.g. {"es": {"sms": "..."}}. Replaces the rule\'s texts'
        " whole; an omitted language or part uses Puntual's default text.",
    )

    def _rule(self) -> ReminderRule | None:
        rule: ReminderRule | None = self.context.get("rule")
        return rule

    def validate_name(self, value: str) -> str:
        clash = ReminderRule.objects.filter(tenant=tenant_of(self.context["request"]), name=value)
        rule = self._rule()
        if rule is not None:
            clash = clash.exclude(pk=rule.pk)
        if clash.exists():
            raise serializers.ValidationError(_("This name is already used in this business."))
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        rule = self._rule()
        minutes = attrs.pop("offset_minutes", None)
        offset, unit = attrs.pop("offset", None), attrs.pop("offset_unit", None)
        if (offset is None) != (unit is None):
            missing = "offset_unit" if unit is None else "offset"
            raise serializers.ValidationError(
                {missing: [_("Give offset and offset_unit together.")]}
            )
        if offset is not None and unit is not None:
            in_minutes = offset * OFFSET_UNITS[unit]
            if in_minutes > MAX_OFFSET_MINUTES:
                raise serializers.ValidationError(
                    {
                        "offset": [
                            _("Give at most %(days)d days.")
                            % {"days": MAX_OFFSET_MINUTES // OFFSET_UNITS["days"]}
                        ]
                    }
                )
            if minutes is not None and minutes != in_minutes:
                raise serializers.ValidationError(
                    {
                        "offset_minutes": [
                            _("offset_minutes and offset with offset_unit disagree: give one.")
                        ]
                    }
                )
            minutes = in_minutes
        if minutes is not None:
            attrs["offset_minutes"] = minutes
        elif rule is None and self.offset_required:
            raise serializers.ValidationError(
                {"offset_minutes": [_("Give offset_minutes, or offset with offset_unit.")]}
            )
        if "texts" in attrs:
            purpose = attrs.get("purpose") or (rule.purpose if rule else Purpose.REMINDER)
            errors = reminder_rule_texts_errors(
                tenant=tenant_of(self.context["request"]), texts=attrs["texts"], purpose=purpose
            )
            if errors:
                raise serializers.ValidationError({"texts": errors})
            attrs["texts"] = _clean_texts(attrs["texts"])
        return attrs


class SmsPreviewSerializer(serializers.Serializer[Any]):
    text = serializers.CharField()
    characters = serializers.IntegerField(source="size.characters")
    segments = serializers.IntegerField(source="size.segments", help_text="SMS parts billed")
    encoding = serializers.ChoiceField(choices=["GSM-7", "UCS-2"], source="size.encoding")


class EmailPreviewSerializer(serializers.Serializer[Any]):
    subject = serializers.CharField()
    text = serializers.CharField()
    html = serializers.CharField()


class RulePreviewSerializer(serializers.Serializer[Any]):
    language = serializers.CharField()
    sample = serializers.BooleanField(help_text="Rendered for a made-up appointment")
    send_at = serializers.DateTimeField(
        allow_null=True, help_text="For an appointment: when the rule would send for it"
    )
    not_sent_reason = serializers.CharField(
        help_text="For an appointment: why it would not be sent; empty when it would"
    )
    sms = SmsPreviewSerializer(allow_null=True)
    email = EmailPreviewSerializer(allow_null=True)


class RulePreviewQuerySerializer(serializers.Serializer[Any]):
    appointment: Any = serializers.PrimaryKeyRelatedField(
        queryset=Appointment.objects,
        required=False,
        help_text="Render for this appointment; without it, for a sample one",
    )
    language = serializers.ChoiceField(
        choices=settings.LANGUAGES,
        required=False,
        help_text="Without it, the client's language (or the business's)",
    )


class RuleDraftPreviewSerializer(RulePreviewQuerySerializer, ReminderRuleInputSerializer):
    """A rule being written, not saved: its name and offset are optional."""

    name = None  # type: ignore[assignment]
    offset_required = False
