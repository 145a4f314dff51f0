# Reminder rules and the message outbox arrive with the reminders issue.
