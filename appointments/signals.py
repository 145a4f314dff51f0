"""Signals the appointment workflow sends to the apps built on it (they never import back).

`appointment_cancelled`: sent inside the cancelling transaction, right after the status change
is written (by the client, by staff, or the release of an unpaid deposit). Arguments:
`appointment` (the cancelled, locked Appointment) and `now`. Receivers that act on the freed
time must wait for the commit (`transaction.on_commit`): a rolled-back cancellation frees nothing.
"""

from django.dispatch import Signal

appointment_cancelled = Signal()
