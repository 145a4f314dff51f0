"""Every write on appointments. One function per business action, the same for every channel.

Each status change locks the appointment row, re-checks the workflow, writes the change and
one AppointmentEvent, and hands side effects (messages, policies) to `after_change`, which
defers anything outward to after the commit.
"""

from appointments.services.approval import appointment_accept, appointment_decline
from appointments.services.booking import (
    appointment_book,
    appointment_book_any,
    appointment_reschedule,
)
from appointments.services.common import Actor
from appointments.services.transitions import (
    appointment_cancel,
    appointment_check_in,
    appointment_confirm,
    appointment_correct,
    appointment_finish,
    appointment_mark_attended,
    appointment_mark_no_show,
    appointment_start,
    appointment_transition,
)

__all__ = [
    "Actor",
    "appointment_accept",
    "appointment_book",
    "appointment_book_any",
    "appointment_cancel",
    "appointment_check_in",
    "appointment_confirm",
    "appointment_correct",
    "appointment_decline",
    "appointment_finish",
    "appointment_mark_attended",
    "appointment_mark_no_show",
    "appointment_reschedule",
    "appointment_start",
    "appointment_transition",
]
