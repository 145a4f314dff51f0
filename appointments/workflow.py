"""The status workflow, declared once. Services consult it; the UI asks `can_transition`."""

from __future__ import annotations

from appointments.models import AppointmentStatus as S

TRANSITIONS: dict[str, frozenset[str]] = {
    # A request is accepted (scheduled) or declined (cancelled by the business, see
    # services/approval.py), or the client withdraws it (cancelled). Nothing else: it cannot
    # be confirmed, checked in, attended or missed before the business has accepted it.
    S.REQUESTED: frozenset({S.SCHEDULED, S.CANCELLED}),
    S.SCHEDULED: frozenset({S.CONFIRMED, S.ATTENDED, S.NO_SHOW, S.CANCELLED}),
    S.CONFIRMED: frozenset({S.ATTENDED, S.NO_SHOW, S.CANCELLED}),
    S.ATTENDED: frozenset(),
    S.NO_SHOW: frozenset(),
    S.CANCELLED: frozenset(),
}

# Audited corrections an admin may make after the fact (the client did come after all).
CORRECTIONS: dict[str, frozenset[str]] = {
    S.NO_SHOW: frozenset({S.ATTENDED}),
}

# Outcomes that can only be recorded once the appointment has begun.
NOT_BEFORE_START: frozenset[str] = frozenset({S.ATTENDED, S.NO_SHOW})

RESCHEDULABLE: frozenset[str] = frozenset({S.SCHEDULED, S.CONFIRMED})
OPEN_STATUSES: frozenset[str] = frozenset({S.SCHEDULED, S.CONFIRMED})
# Appointments still to come for the client: the open ones and the requests waiting.
UPCOMING_STATUSES: frozenset[str] = OPEN_STATUSES | {S.REQUESTED}


def can_transition(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


def can_correct(from_status: str, to_status: str) -> bool:
    return to_status in CORRECTIONS.get(from_status, frozenset())
