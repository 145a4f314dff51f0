"""reminder_dispatch: due SMS reminders through the real broker, worker and Twilio backend.

`--messages` (50,000) reminders, all due, wait in the outbox (beside the 1,000,000 future rows
of reminder_due_scan). The benchmark starts Puntual's worker as it ships — `celery -A config
worker -l info`, its pool and concurrency from the settings (CELERY_WORKER_POOL and
CELERY_WORKER_CONCURRENCY, which the environment may override to compare) — on the
benchmark's Redis, with the real `TwilioSMSBackend` pointed at the fake Twilio of the tests
(`tests.fake_twilio`, in this process) answering every call after 50 ms. It then does what
beat does: publish `dispatch_due_messages` now and again at the schedule's interval, until
every row has ended.

It counts what the provider accepted per outbox row (the row's id is in the status callback
URL of its request): `duplicates` (accepted more than once, the promise broken), `lost` (rows
that did not end sent, delivered, failed, skipped or unknown) and `errors` (rows that ended
failed or unknown, and rows whose provider id is not the one the provider gave).
"""

from __future__ import annotations

import collections
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from benchmarks import broker, cpu, settings_module
from benchmarks.booking_http import PROJECT_ROOT
from benchmarks.outbox import DueRows, create_due_rows, delete_due_rows, ensure_future_rows
from benchmarks.seed import Seed
from reminders.tasks import dispatch_due_messages
from tests.fake_twilio import FakeTwilio

log = logging.getLogger("benchmarks")

DISPATCH_PREFIX = "bench-dispatch:"
TARGET_PER_MIN = 6_000
PROVIDER_DELAY_S = 0.050
TERMINAL = ("sent", "delivered", "failed", "skipped", "unknown")
# How long a run may take before the rows still open count as lost: five times the target.
MAX_SECONDS_PER_MESSAGE = 5 * 60 / TARGET_PER_MIN
PROGRESS_EVERY_S = 0.05
_CALLBACK_ID = re.compile(r"/twilio/status/(\d+)/")
_READY = re.compile(r"\bready\.$", re.MULTILINE)
WORKER_PREFIX = "bench-reminders-"


@dataclass
class Progress:
    """(seconds since the first tick, provider calls so far), sampled as the run goes."""

    samples: list[tuple[float, int]]

    def seconds_until(self, calls: int) -> float | None:
        return next((at for at, count in self.samples if count >= calls), None)

    def steady_per_min(self, total: int) -> float | None:
        """The rate between 10% and 90% of the calls: the pace once the worker is going,
        without its start and the last tasks' tail."""
        low, high = self.seconds_until(round(total * 0.1)), self.seconds_until(round(total * 0.9))
        if low is None or high is None or high <= low:
            return None
        return round((round(total * 0.9) - round(total * 0.1)) / (high - low) * 60, 1)

    def latency(self, total: int) -> dict[str, float | None]:
        """Every message was due at the first tick: the seconds until the provider had the
        call of the median, the 95th percentile and the last one."""
        return {
            f"{name}_s": None
            if (at := self.seconds_until(round(total * q))) is None
            else round(at, 2)
            for name, q in (("p50", 0.5), ("p95", 0.95), ("max", 1.0))
        }


def beat_interval() -> float:
    """The dispatcher's interval in the beat schedule the product ships."""
    schedule = settings.CELERY_BEAT_SCHEDULE["dispatch-due-messages"]["schedule"]
    if not isinstance(schedule, int | float):
        raise RuntimeError(f"The dispatcher's schedule is not in seconds: {schedule!r}.")
    return float(schedule)


def worker_config() -> str:
    """The pool the worker runs: the settings', which the environment may override."""
    return f"{settings.CELERY_WORKER_POOL} x {settings.CELERY_WORKER_CONCURRENCY}"


def _worker_env(twilio: FakeTwilio) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE=settings_module(),
        DJANGO_READ_DOT_ENV="0",
        PYTHONUNBUFFERED="1",
        BENCH_BROKER_URL=broker.url(),
        SMS_BACKEND="reminders.channels.sms.TwilioSMSBackend",
        TWILIO_API_BASE_URL=twilio.url,
        TWILIO_ACCOUNT_SID="AC" + "0" * 32,
        TWILIO_AUTH_TOKEN="bench-token",  # noqa: S106 - the fake's, checked by nobody
        TWILIO_FROM_NUMBER="+34911000000",
        TWILIO_MESSAGING_SERVICE_SID="",
        PUNTUAL_BASE_URL="https://puntual.bench",
    )
    return env


def _worker_argv(name: str) -> list[str]:
    # The command of docker-compose.yml and Procfile.dev, plus a name to find it by.
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "-l",
        "info",
        "--hostname",
        name,
    ]


def _wait_until_ready(process: subprocess.Popen[bytes], log: IO[bytes], seconds: float) -> None:
    """Until the worker logs "ready." (it answers no ping: remote control is off)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the worker exited with {process.returncode}")
        # pread: the worker writes through the same file offset, which must not move.
        written = os.pread(log.fileno(), os.fstat(log.fileno()).st_size, 0)
        if _READY.search(written.decode(errors="replace")):
            return
        time.sleep(0.2)
    raise RuntimeError(f"the worker was not ready in {seconds:.0f} s")


def _stray_workers() -> list[str]:
    """Workers of an earlier, interrupted run still alive on this machine: they would take
    this run's tasks from the benchmark's queue."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "celery" in command and f"--hostname {WORKER_PREFIX}" in command:
            found.append(f"{entry.name}: {command.strip()}")
    return found


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # warm shutdown: running tasks finish
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _statuses(rows: DueRows) -> collections.Counter[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT status, count(*) FROM reminders_outboundmessage
            WHERE id BETWEEN %s AND %s AND dedupe_key LIKE %s GROUP BY status
            """,
            [rows.first_id, rows.last_id, rows.prefix + "%"],
        )
        return collections.Counter({status: int(count) for status, count in cursor.fetchall()})


def _provider_ids(rows: DueRows) -> dict[int, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT id, provider_id FROM reminders_outboundmessage
            WHERE id BETWEEN %s AND %s AND dedupe_key LIKE %s AND provider_id <> ''
            """,
            [rows.first_id, rows.last_id, rows.prefix + "%"],
        )
        return {int(pk): str(sid) for pk, sid in cursor.fetchall()}


def _run(rows: DueRows, twilio: FakeTwilio, tracker: cpu.Tracker) -> tuple[float, Progress, bool]:
    """Tick as beat does until every row has ended or the time is up: (seconds until then,
    the progress, whether every row ended). The rows are read once a second, and only once
    the provider has had a call for each of them or nothing has moved for half a minute."""
    interval = beat_interval()
    deadline = max(120.0, rows.count * MAX_SECONDS_PER_MESSAGE)
    progress = Progress(samples=[])
    started = time.perf_counter()
    next_tick = next_check = moved_at = started
    calls = 0
    while True:
        now = time.perf_counter()
        if now >= next_tick:
            dispatch_due_messages.apply_async()
            next_tick += interval
        if len(twilio.requests) != calls:
            calls, moved_at = len(twilio.requests), now
            progress.samples.append((now - started, calls))
        if now >= next_check:
            next_check += 1.0
            tracker.poll()
            if calls >= rows.count or now - moved_at > 30:
                statuses = _statuses(rows)
                if sum(statuses[s] for s in TERMINAL) >= rows.count:
                    return time.perf_counter() - started, progress, True
        if now - started > deadline:
            return now - started, progress, False
        time.sleep(PROGRESS_EVERY_S)


def reminder_dispatch(seed: Seed, *, messages: int) -> dict[str, Any]:
    ensure_future_rows(seed)
    stray = _stray_workers()
    if stray:
        raise RuntimeError(f"an earlier run's worker is still alive: {'; '.join(stray)}")
    broker.purge()
    rows = create_due_rows(seed, prefix=DISPATCH_PREFIX, count=messages, now=timezone.now())
    name = f"{WORKER_PREFIX}{uuid.uuid4().hex[:6]}@%h"
    worker_log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in finally
    twilio = FakeTwilio(delay=PROVIDER_DELAY_S)
    process: subprocess.Popen[bytes] | None = None
    try:
        twilio.start()
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            _worker_argv(name),
            cwd=PROJECT_ROOT,
            env=_worker_env(twilio),
            stdout=worker_log,
            stderr=subprocess.STDOUT,
        )
        _wait_until_ready(process, worker_log, 60)
        log.info(
            "reminder_dispatch: %s messages, worker %s, provider %.0f ms per call",
            f"{messages:,}",
            worker_config(),
            PROVIDER_DELAY_S * 1000,
        )
        database = str(connection.settings_dict["NAME"])
        before = cpu.sample(process.pid, database)
        tracker = cpu.Tracker(process.pid, database)
        tracker.poll()
        seconds, progress, finished = _run(rows, twilio, tracker)
        tracker.poll()
        after = cpu.sample(process.pid, database)
        if process.poll() is not None:
            raise RuntimeError(f"the worker exited with {process.returncode} during the run")
        statuses = _statuses(rows)
        provider_ids = _provider_ids(rows)
    finally:
        if process is not None:
            _stop(process)
        twilio.stop()
        broker.purge()
        worker_log.seek(0)
        worker_output = worker_log.read().decode(errors="replace")
        worker_log.close()
        delete_due_rows(seed, rows)
    accepted = twilio.accepted
    per_row = collections.Counter(
        int(match.group(1))
        for request in accepted
        if (match := _CALLBACK_ID.search(request.form.get("StatusCallback", "")))
    )
    duplicates = sum(count - 1 for count in per_row.values() if count > 1)
    unattributed = len(accepted) - sum(per_row.values())  # no outbox row named: an error
    sids = {request.sid for request in accepted}
    wrong_provider_ids = sum(1 for sid in provider_ids.values() if sid not in sids)
    lost = rows.count - sum(statuses[s] for s in TERMINAL)
    errors = statuses["failed"] + statuses["unknown"] + wrong_provider_ids + unattributed
    first_call = progress.seconds_until(1)
    worker_errors = [
        line for line in worker_output.splitlines() if " ERROR/" in line or "Traceback" in line
    ]
    if worker_errors:
        sys.stderr.write("the worker said:\n" + "\n".join(worker_errors[:20]) + "\n")
    parties = tracker.seconds()
    busy = (after.busy - before.busy) if before is not None and after is not None else None
    total = (after.total - before.total) if before is not None and after is not None else None
    result: dict[str, Any] = {
        "name": "reminder_dispatch",
        "n": rows.count,
        "per_min": round(rows.count / seconds * 60, 1) if seconds > 0 else 0.0,
        "per_min_steady": progress.steady_per_min(rows.count),
        "seconds": round(seconds, 1),
        "first_call_s": None if first_call is None else round(first_call, 2),
        "latency": progress.latency(rows.count),
        "finished": finished,
        "duplicates": duplicates,
        "lost": lost,
        "errors": errors,
        "statuses": dict(sorted(statuses.items())),
        "provider_calls": len(twilio.requests),
        "accepted": len(accepted),
        "worker_error_lines": len(worker_errors),
        "worker": worker_config(),
        "provider_delay_ms": PROVIDER_DELAY_S * 1000,
        "beat_interval_s": beat_interval(),
    }
    if busy is not None and total:

        def per_message(cpu_seconds: float) -> float:
            return round(cpu_seconds * 1000 / rows.count, 2)

        result["cpu_ms_per_message"] = {
            "worker": per_message(parties["server"]),
            "postgres": per_message(parties["postgres"]),
            "fake_twilio_and_bench": per_message(parties["clients"]),
            "other": per_message(busy - sum(parties.values())),
            "all": per_message(busy),
        }
        result["cpu_busy_share"] = round(busy / total, 3)
    result.update(target_per_min=TARGET_PER_MIN, target_duplicates=0, target_lost=0)
    result["ok"] = (
        finished
        and result["per_min"] >= TARGET_PER_MIN
        and duplicates == 0
        and lost == 0
        and errors == 0
        and statuses["sent"] == rows.count
    )
    return result
