"""Reads for reports and pages: slots freed and refilled, survey scores."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Avg, Count, QuerySet

from selfservice.models import FreedSlot, SurveyInvitation, WaitlistEntry, WaitlistStatus
from tenants.models import Business


def freed_count(tenant: Business, start: datetime, end: datetime) -> int:
    """Cancelled future times offered to the waitlist, freed in [start, end)."""
    return FreedSlot.objects.filter(tenant=tenant, freed_at__gte=start, freed_at__lt=end).count()


def refilled_count(tenant: Business, start: datetime, end: datetime) -> int:
    """Freed times a waiting client claimed, claimed in [start, end)."""
    return FreedSlot.objects.filter(
        tenant=tenant,
        refilled_by__isnull=False,
        refilled_at__gte=start,
        refilled_at__lt=end,
    ).count()


@dataclass(frozen=True)
class Score:
    average: Decimal | None  # None: no answers
    answers: int


def _score(rows: QuerySet[SurveyInvitation]) -> Score:
    found = rows.aggregate(average=Avg("rating"), answers=Count("id"))
    average = found["average"]
    return Score(
        average=Decimal(str(round(average, 2))) if average is not None else None,
        answers=found["answers"],
    )


def _answered(tenant: Business, start: datetime, end: datetime) -> QuerySet[SurveyInvitation]:
    return SurveyInvitation.objects.filter(
        tenant=tenant, answered_at__gte=start, answered_at__lt=end, rating__isnull=False
    )


def survey_score(tenant: Business, start: datetime, end: datetime) -> Score:
    """The average rating (1 to 5) of the surveys answered in [start, end), and how many."""
    return _score(_answered(tenant, start, end))


@dataclass(frozen=True)
class ScoreRow:
    name: str
    average: Decimal
    answers: int


def survey_scores_by(
    tenant: Business, start: datetime, end: datetime, *, by: str
) -> list[ScoreRow]:
    """Scores per staff member (`by="staff"`) or per service (`by="service"`), best first."""
    field = {"staff": "appointment__staff__display_name", "service": "appointment__service__name"}[
        by
    ]
    rows = (
        _answered(tenant, start, end)
        .values(field)
        .annotate(average=Avg("rating"), answers=Count("id"))
        .order_by("-average", field)
    )
    return [
        ScoreRow(
            name=row[field],
            average=Decimal(str(round(row["average"], 2))),
            answers=row["answers"],
        )
        for row in rows
    ]


def waiting_entries(tenant: Business) -> QuerySet[WaitlistEntry]:
    return (
        WaitlistEntry.objects.filter(tenant=tenant, status=WaitlistStatus.WAITING)
        .select_related("client", "service", "staff", "location")
        .order_by("created_at", "id")
    )


def survey_score_of(rows: QuerySet[SurveyInvitation]) -> Score:
    """The average rating and the number of answers among `rows` (answered ones only)."""
    return _score(rows.filter(rating__isnull=False))


@dataclass(frozen=True)
class GroupScore:
    id: int
    name: str
    average: Decimal
    answers: int


def survey_scores_grouped(rows: QuerySet[SurveyInvitation], *, by: str) -> list[GroupScore]:
    """Scores of the answered `rows` per staff member (`by="staff"`) or per service
    (`by="service"`), by id (two staff members may share a name), best first."""
    relation = {"staff": "appointment__staff", "service": "appointment__service"}[by]
    name = {"staff": "display_name", "service": "name"}[by]
    grouped = (
        rows.filter(rating__isnull=False)
        .values(f"{relation}_id", f"{relation}__{name}")
        .annotate(average=Avg("rating"), answers=Count("id"))
        .order_by("-average", f"{relation}__{name}", f"{relation}_id")
    )
    return [
        GroupScore(
            id=row[f"{relation}_id"],
            name=row[f"{relation}__{name}"],
            average=Decimal(str(round(row["average"], 2))),
            answers=row["answers"],
        )
        for row in grouped
    ]
