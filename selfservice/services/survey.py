"""The post-visit survey: one question (1 to 5) and an optional comment, once per attended
appointment, asked a while after it ends.

When, how and in which words are the business's active survey rule's (a reminder rule with
purpose "survey": its offset counts from the end; at most one is active). No active survey
rule, no surveys. The reminder planner never plans survey rules: this one does."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, time, timedelta

from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.utils.translation import gettext_lazy
from django_scopes import scopes_disabled

from appointments.errors import SchedulingError
from appointments.models import Appointment, AppointmentStatus
from reminders.models import Purpose, ReminderRule, RuleChannel
from reminders.services.planning import quiet_hours_adjusted
from selfservice.models import SurveyInvitation, hash_token, new_token

# Attended appointments that ended longer ago than this get no survey: deploying the feature
# (or a long outage of the scheduler) must not survey months of past visits.
PLAN_LOOKBACK = timedelta(days=2)
COMMENT_MAX = 2000
PLAN_BATCH_SIZE = 500


class SurveyClosed(SchedulingError):
    code = "survey_answered"
    default_message = gettext_lazy("Thank you — this survey has already been answered.")
    http_status = 409


# No appointment start for a survey to be sent before: inside the quiet hours it waits for
# their end (quiet_hours_adjusted moves a reminder before them only when the start is near).
_NO_START = datetime.max.replace(tzinfo=UTC)


def _send_at(
    due: datetime, channel: str, tz_name: str, quiet_start: time, quiet_end: time
) -> datetime:
    """When a survey due at `due` goes: as reminders do, an SMS waits out the business's
    quiet hours (in the location's time zone); an email goes at once."""
    if channel == RuleChannel.EMAIL:
        return due
    return quiet_hours_adjusted(
        due,
        appointment_start=_NO_START,
        tz=zoneinfo.ZoneInfo(tz_name),
        quiet_start=quiet_start,
        quiet_end=quiet_end,
    )


def _active_survey_rules(offset_minutes: int | None = None) -> QuerySet[ReminderRule]:
    rules = ReminderRule.objects.filter(purpose=Purpose.SURVEY, is_active=True)
    return rules if offset_minutes is None else rules.filter(offset_minutes=offset_minutes)


def surveys_plan(*, now: datetime) -> int:
    """Plan the survey of every attended appointment whose end + its business's survey offset
    has come (once each: the invitation is unique per appointment), with the rule that planned
    it. Returns the number planned.

    One query per distinct offset in use, not per business: businesses keep the default or a
    few round numbers, so a tick costs a handful of queries however many businesses there are.
    """
    planned = 0
    with scopes_disabled():
        offsets = sorted(set(_active_survey_rules().values_list("offset_minutes", flat=True)))
        for minutes in offsets:
            delay = timedelta(minutes=minutes)
            rule = _active_survey_rules(minutes).filter(tenant_id=OuterRef("tenant_id"))
            due = list(
                Appointment.objects.filter(
                    status=AppointmentStatus.ATTENDED,
                    end__lte=now - delay,
                    end__gte=now - delay - PLAN_LOOKBACK,
                )
                .filter(Exists(rule))
                .exclude(Exists(SurveyInvitation.objects.filter(appointment=OuterRef("pk"))))
                .annotate(
                    rule_id=Subquery(rule.values("pk")[:1]),
                    rule_channel=Subquery(rule.values("channel")[:1]),
                )
                .values_list(
                    "pk",
                    "tenant_id",
                    "end",
                    "rule_id",
                    "rule_channel",
                    "location__timezone",
                    "tenant__sms_quiet_start",
                    "tenant__sms_quiet_end",
                )[:PLAN_BATCH_SIZE]
            )
            SurveyInvitation.objects.bulk_create(
                [
                    SurveyInvitation(
                        tenant_id=tenant_id,
                        appointment_id=pk,
                        rule_id=rule_id,
                        token_hash=hash_token(new_token()),  # the real one is made at sending
                        send_at=_send_at(end + delay, channel, tz_name, quiet_start, quiet_end),
                        created_at=now,
                    )
                    for pk, tenant_id, end, rule_id, channel, tz_name, quiet_start, quiet_end in due
                ],
                ignore_conflicts=True,  # a concurrent tick planned the same appointment
            )
            planned += len(due)
    return planned


def survey_by_token(*, token: str) -> SurveyInvitation | None:
    if not token or len(token) > 64:
        return None
    return (
        SurveyInvitation.objects.filter(token_hash=hash_token(token))
        .select_related("appointment__service", "appointment__staff", "appointment__location")
        .first()
    )


def survey_answer(
    *, invitation: SurveyInvitation, rating: int, comment: str, now: datetime
) -> None:
    """Record the answer, once. Raises SurveyClosed when it was answered already."""
    if rating not in range(1, 6):
        raise ValueError("rating must be 1 to 5")
    answered = SurveyInvitation.objects.filter(
        pk=invitation.pk, tenant_id=invitation.tenant_id, answered_at__isnull=True
    ).update(rating=rating, comment=comment.strip()[:COMMENT_MAX], answered_at=now)
    if not answered:
        raise SurveyClosed
