"""Writes of the reminders app: planning the outbox, dispatching it, and handling replies."""
