"""The appointment workflow's signals self-service listens to (defined by appointments)."""

from appointments.signals import appointment_cancelled

__all__ = ["appointment_cancelled"]
