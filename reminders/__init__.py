"""Reminder rules, the outbound message outbox, SMS and email channels, and inbound replies."""
