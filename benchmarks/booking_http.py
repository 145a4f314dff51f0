"""booking_http: POST /api/v1/appointments/ under gunicorn, 16 concurrent clients with an API key.

Every client thread keeps its own `http.client` connection (re-opened when the server closes
it) and takes the next booking from one shared list. A fifth of the times are offered twice in
a row, identical or shifted by five minutes, so two clients race for them: one must get 201
and the other 409 `slot_taken`, and afterwards no two appointments of a staff member that hold
time may overlap (`double_bookings`, counted in the whole business with a range self-join).
"""

from __future__ import annotations

import collections
import http.client
import json
import logging
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from django.db import connection
from django_scopes import scope

from appointments.models import BLOCKING_STATUSES, Service
from benchmarks import cpu, settings_module
from benchmarks.report import ms, summary
from benchmarks.seed import BOOKING_SERVICE, HTTP_BOOKING_DAYS, Seed, delete_bench_bookings
from tenants.models import ApiKey
from tenants.services import api_key_create

log = logging.getLogger("benchmarks")

TARGET_PER_S = 150
CLIENTS = 16
CONTENDED_SHARE = 0.2
PROJECT_ROOT = Path(__file__).resolve().parent.parent
KEY_NAME = "benchmark booking_http"
PATH = "/api/v1/appointments/"


@dataclass(frozen=True)
class ServerConfig:
    workers: int
    worker_class: str
    threads: int

    def argv(self, port: int) -> list[str]:
        args = [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(self.workers),
            "--worker-class",
            self.worker_class,
            "--log-level",
            "warning",
            "--timeout",
            "60",
        ]
        if self.worker_class == "gthread":
            args += ["--threads", str(self.threads)]
        return args

    def describe(self) -> str:
        threads = f" x {self.threads} threads" if self.worker_class == "gthread" else ""
        return f"{self.workers} {self.worker_class} workers{threads}"


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: collections.Counter[str] = field(default_factory=collections.Counter)
    connection_errors: int = 0
    first_error: str = ""
    finished_at: float = 0.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_env() -> dict[str, str]:
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = settings_module()
    env["DJANGO_READ_DOT_ENV"] = "0"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _wait_until_up(port: int, process: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            body = response.read()
            if response.status == 200:
                return
            last = f"{response.status} {body[:200]!r}"
        except OSError as exc:
            last = repr(exc)
        finally:
            conn.close()
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer /healthz in {seconds:.0f} s: {last}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def _work(seed: Seed, service: Service, rng: random.Random) -> collections.deque[bytes]:
    """Request bodies in the order they are sent: each time once, some twice in a row."""
    items: collections.deque[bytes] = collections.deque()
    minutes = service.duration_minutes
    for index, start in enumerate(seed.starts(HTTP_BOOKING_DAYS, minutes, minutes)):
        for staff_id in seed.staff_ids:
            client_id = seed.client_ids[
                (index * len(seed.staff_ids) + staff_id) % len(seed.client_ids)
            ]
            body = {
                "service": service.pk,
                "location": seed.location.pk,
                "staff": staff_id,
                "start": start.isoformat(),
                "client": client_id,
            }
            items.append(json.dumps(body).encode())
            if rng.random() < CONTENDED_SHARE:
                rival = start + timedelta(minutes=rng.choice((0, 5)))
                if not seed.fits(rival, minutes):
                    rival = start
                items.append(json.dumps({**body, "start": rival.isoformat()}).encode())
    return items


def _error_code(payload: bytes) -> str:
    try:
        return str(json.loads(payload).get("code", ""))
    except (ValueError, AttributeError):
        return "unreadable"


def _client(
    port: int,
    headers: dict[str, str],
    items: collections.deque[bytes],
    start: threading.Barrier,
    deadline: list[float],
    tally: Tally,
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    start.wait()
    try:
        while time.perf_counter() < deadline[0]:
            try:
                body = items.popleft()
            except IndexError:
                break
            sent = time.perf_counter()
            try:
                conn.request("POST", PATH, body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException) as exc:
                tally.connection_errors += 1
                tally.first_error = tally.first_error or repr(exc)
                conn.close()
                continue
            tally.latencies.append(time.perf_counter() - sent)
            key = str(response.status)
            if response.status == 409:
                key = f"409 {_error_code(payload)}"
            elif response.status >= 400 and not tally.first_error:
                tally.first_error = f"{response.status} {payload[:300]!r}"
            tally.statuses[key] += 1
    finally:
        conn.close()
        tally.finished_at = time.perf_counter()


def _run_clients(
    port: int, headers: dict[str, str], items: collections.deque[bytes], seconds: float
) -> tuple[list[Tally], float]:
    """Run the clients for `seconds`: their tallies and the time until the last one finished."""
    tallies = [Tally() for _ in range(CLIENTS)]
    barrier = threading.Barrier(CLIENTS + 1)
    deadline = [float("inf")]
    threads = [
        threading.Thread(
            target=_client, args=(port, headers, items, barrier, deadline, tally), daemon=True
        )
        for tally in tallies
    ]
    for thread in threads:
        thread.start()
    deadline[0] = time.perf_counter() + seconds
    started = time.perf_counter()
    barrier.wait()
    for thread in threads:
        thread.join()
    return tallies, max(t.finished_at for t in tallies) - started


def double_bookings(seed: Seed) -> int:
    """Pairs of overlapping appointments of one staff member that both hold time."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*)
            FROM appointments_appointment a
            JOIN appointments_appointment b
              ON b.tenant_id = a.tenant_id AND b.staff_id = a.staff_id AND b.id > a.id
             AND tstzrange(a.blocked_start, a.blocked_end, '[)')
                 && tstzrange(b.blocked_start, b.blocked_end, '[)')
            WHERE a.tenant_id = %s AND a.status = ANY(%s) AND b.status = ANY(%s)
            """,
            [seed.business.pk, list(BLOCKING_STATUSES), list(BLOCKING_STATUSES)],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def _serve_and_load(
    server: ServerConfig,
    headers: dict[str, str],
    items: collections.deque[bytes],
    seconds: float,
    warmup_seconds: float,
) -> tuple[list[Tally], float, dict[str, object]]:
    """Start gunicorn, warm it up, load it for `seconds`, stop it (always)."""
    port = _free_port()
    server_log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in finally
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        server.argv(port),
        cwd=PROJECT_ROOT,
        env=_server_env(),
        stdout=server_log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_until_up(port, process, 60)
        log.info("booking_http: %s on port %s, %s clients", server.describe(), port, CLIENTS)
        # Every worker imports the views and opens its connection before the clock starts.
        _run_clients(port, headers, items, warmup_seconds)
        database = str(connection.settings_dict["NAME"])
        before = cpu.sample(process.pid, database)
        tallies, elapsed = _run_clients(port, headers, items, seconds)
        after = cpu.sample(process.pid, database)
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode} during the run")
        requests = sum(len(tally.latencies) for tally in tallies)
        return tallies, elapsed, cpu.usage(before, after, requests)
    finally:
        _stop(process)
        server_log.seek(0)
        server_output = server_log.read().decode(errors="replace").strip()
        server_log.close()
        if server_output:
            sys.stderr.write("gunicorn said:\n" + server_output[-4000:] + "\n")


def booking_http(
    seed: Seed, *, seconds: float, warmup_seconds: float, server: ServerConfig
) -> dict[str, Any]:
    with scope(tenant=seed.business):
        service = Service.objects.get(pk=seed.service_ids[BOOKING_SERVICE])
        ApiKey.objects.filter(tenant=seed.business, name=KEY_NAME).delete()
        api_key, raw_key = api_key_create(tenant=seed.business, name=KEY_NAME)
    headers = {
        "Authorization": f"Bearer {raw_key}",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }
    items = _work(seed, service, random.Random(7))  # noqa: S311 - a fixed race pattern
    try:
        tallies, elapsed, cpu_usage = _serve_and_load(
            server, headers, items, seconds, warmup_seconds
        )
        doubles = double_bookings(seed)
    finally:
        deleted = delete_bench_bookings(seed)
        with scope(tenant=seed.business):
            api_key.delete()
    statuses: collections.Counter[str] = collections.Counter()
    latencies: list[float] = []
    connection_errors = 0
    first_error = ""
    for tally in tallies:
        statuses.update(tally.statuses)
        latencies.extend(tally.latencies)
        connection_errors += tally.connection_errors
        first_error = first_error or tally.first_error
    created = statuses.get("201", 0)
    server_errors = sum(count for key, count in statuses.items() if key.startswith("5"))
    other_4xx = sum(
        count for key, count in statuses.items() if key.startswith("4") and key != "409 slot_taken"
    )
    result: dict[str, Any] = {"name": "booking_http", **summary(latencies)}
    result.update(
        per_s=round(created / elapsed, 1) if elapsed > 0 else 0.0,
        requests_per_s=round(len(latencies) / elapsed, 1) if elapsed > 0 else 0.0,
        created=created,
        slot_taken=statuses.get("409 slot_taken", 0),
        other_4xx=other_4xx,
        server_errors=server_errors,
        connection_errors=connection_errors,
        errors=server_errors + connection_errors,
        double_bookings=doubles,
        statuses=dict(sorted(statuses.items())),
        seconds=round(elapsed, 2),
        clients=CLIENTS,
        server=server.describe(),
        cleaned_up=deleted,
        **cpu_usage,
        target_per_s=TARGET_PER_S,
        target_errors=0,
        target_double_bookings=0,
    )
    if latencies:
        result["mean_ms"] = ms(statistics.fmean(latencies))
    if first_error:
        result["first_error"] = first_error
    result["ok"] = (
        result["per_s"] >= TARGET_PER_S
        and result["errors"] == 0
        and doubles == 0
        and other_4xx == 0
    )
    return result
