"""Business errors of the policies. They are SchedulingErrors, so the API answers them in its
one error shape with their stable code."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from appointments.errors import SchedulingError


class PolicyError(SchedulingError):
    code = "policy_error"
    default_message = _("The policy does not allow this.")


class AlreadyDecided(PolicyError):
    code = "already_decided"
    default_message = _("The money of this appointment is already settled.")
    http_status = 409


class NothingToDo(PolicyError):
    code = "nothing_to_do"
    default_message = _("There is nothing to do: the amounts are already settled.")
    http_status = 409
