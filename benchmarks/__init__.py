"""Puntual's benchmarks: `make bench` (or `python -m benchmarks`) runs them all on PostgreSQL.

Each benchmark prints one JSON object on stdout (logs go to stderr) with at least `name`, `n`
and `median_ms`, the targets it is held to and a boolean `ok`:

- `availability_30d_one_staff`: `availability_for` for one staff member and one service over
  30 days (and the query count, which must not depend on the range: `queries_1d`);
- `availability_7d_any_staff`: the same for any staff member over 7 days;
- `booking_service`: `appointment_book` (API rules), one committed booking per call;
- `booking_http`: the booking API under gunicorn, 16 concurrent clients with an API key, some
  of them racing for the same time: bookings per second, server errors, double bookings;
- `reminder_due_scan`: one dispatcher tick (claim and publish) finding 1,000 due messages in
  an outbox of 1,000,000 future ones, with the EXPLAIN ANALYZE of its due query;
- `reminder_dispatch`: 50,000 due SMS reminders (`--messages`) through Redis, the worker as
  it ships and the real Twilio backend against a fake Twilio answering in 50 ms: messages
  per minute, duplicates, lost;
- `report_month`: one business's monthly report among 1,000,000 appointments of 100
  businesses (its own seed, kept), with its query count.

The benchmarks use their own database (BENCH_DATABASE_URL, by default
postgres://postgres@127.0.0.1:5432/puntual_bench), created and seeded on the first run: one
business, 20 staff, 10 services, Monday-Friday 09:00-18:00 with a lunch break, and 20,000
appointments over 60 days from this week's Monday. The seed is deterministic and kept until
the week changes; what a run books is deleted at its end. The reminder benchmarks add the
1,000,000 future outbox rows once (kept with the seed) and use their own Redis database
(BENCH_BROKER_URL, by default redis://127.0.0.1:6379/15).
"""

import os

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/puntual_bench"
# Database 15 of the local Redis: the benchmarks' own, purged by them (their queue only).
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/15"
DEFAULT_SETTINGS_MODULE = "benchmarks.settings"


def settings_module() -> str:
    """BENCH_SETTINGS_MODULE measures a variant (it should import benchmarks.settings)."""
    return os.environ.get("BENCH_SETTINGS_MODULE") or DEFAULT_SETTINGS_MODULE
