"""The post-visit survey: one question (1 to 5) and an optional comment, once per attended
appointment, asked a while after it ends (SELFSERVICE_SURVEY_DELAY_MINUTES, default 120)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy
from django_scopes import scopes_disabled

from appointments.errors import SchedulingError
from appointments.models import Appointment, AppointmentStatus
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


def survey_delay() -> timedelta:
    return timedelta(minutes=int(getattr(settings, "SELFSERVICE_SURVEY_DELAY_MINUTES", 120)))


def surveys_plan(*, now: datetime) -> int:
    """Plan the survey of every attended appointment whose end + delay has come (once each:
    the invitation is unique per appointment). Returns the number planned."""
    delay = survey_delay()
    with scopes_disabled():
        due = list(
            Appointment.objects.filter(
                status=AppointmentStatus.ATTENDED,
                end__lte=now - delay,
                end__gte=now - delay - PLAN_LOOKBACK,
            )
            .exclude(Exists(SurveyInvitation.objects.filter(appointment=OuterRef("pk"))))
            .values_list("pk", "tenant_id", "end")[:PLAN_BATCH_SIZE]
        )
        SurveyInvitation.objects.bulk_create(
            [
                SurveyInvitation(
                    tenant_id=tenant_id,
                    appointment_id=pk,
                    token_hash=hash_token(new_token()),  # the real one is made at sending
                    send_at=end + delay,
                    created_at=now,
                )
                for pk, tenant_id, end in due
            ],
            ignore_conflicts=True,  # a concurrent tick planned the same appointment
        )
    return len(due)


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
