"""`python -m benchmarks`: prepare the benchmark database, run every benchmark, print JSON lines."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from benchmarks import DEFAULT_DATABASE_URL, settings_module

if TYPE_CHECKING:
    from benchmarks.seed import Seed

log = logging.getLogger("benchmarks")

BUSY_WARNING = 0.2  # share of all CPUs already busy before a benchmark starts

NAMES = (
    "availability_30d_one_staff",
    "availability_7d_any_staff",
    "booking_service",
    "booking_http",
    "reminder_due_scan",
    "reminder_dispatch",
    "day_view",
    "report_month",
)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"of {', '.join(NAMES)}; default: all"
    )
    parser.add_argument("--reseed", action="store_true", help="drop the database and seed again")
    parser.add_argument("--runs", type=int, default=50, help="availability runs (default 50)")
    parser.add_argument("--bookings", type=int, default=200, help="booking_service bookings")
    parser.add_argument("--seconds", type=float, default=8.0, help="booking_http duration")
    parser.add_argument("--warmup-seconds", type=float, default=1.5)
    parser.add_argument("--ticks", type=int, default=20, help="reminder_due_scan ticks")
    parser.add_argument(
        "--messages", type=int, default=50_000, help="reminder_dispatch messages (default 50,000)"
    )
    # Measured on 2 cores shared with PostgreSQL and the clients: one worker per core does
    # best (more only adds switching); two threads each keep connections alive.
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 2, help="gunicorn workers (CPUs)"
    )
    parser.add_argument(
        "--worker-class", default="gthread", choices=("sync", "gthread"), help="default gthread"
    )
    parser.add_argument("--threads", type=int, default=2, help="threads per gthread worker")
    parser.add_argument(
        "--strict", action="store_true", help="exit with 1 when a target is missed, too"
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(NAMES))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    return args


def _configure_environment() -> str:
    """Point Django (here and in gunicorn) at the benchmark database and settings."""
    url = os.environ.setdefault("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module()
    os.environ["DJANGO_READ_DOT_ENV"] = "0"
    return url


def _prepare(url: str, reseed: bool) -> Seed:
    import django
    from django.db import connections

    from benchmarks.database import drop_database, ensure_database

    created = ensure_database(url)
    django.setup()
    from benchmarks import seed as seeding

    seeding.migrate()
    found, reason = (None, "--reseed") if reseed else seeding.load_seed()
    if found is not None:
        stale = seeding.delete_bench_bookings(found)  # left by an interrupted run
        if stale:
            log.info("deleted %s appointments left by an earlier run", stale)
        log.info("seed of the week of %s reused", found.anchor)
        return found
    log.info("seeding: %s", reason)
    if not created:  # whatever is there (an older seed, leftovers) goes
        connections.close_all()
        drop_database(url)
        ensure_database(url)
        seeding.migrate()
    started = time.perf_counter()
    new = seeding.create_seed()
    log.info("seeded in %.1f s", time.perf_counter() - started)
    return new


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s %(message)s"
    )
    args = _arguments(argv)
    names = args.names or list(NAMES)
    url = _configure_environment()
    seed = _prepare(url, args.reseed)

    from benchmarks.availability import availability_7d_any_staff, availability_30d_one_staff
    from benchmarks.booking import booking_service
    from benchmarks.booking_http import ServerConfig, booking_http
    from benchmarks.cpu import machine_busy_share
    from benchmarks.day_view import day_view
    from benchmarks.reminder_dispatch import reminder_dispatch
    from benchmarks.reminder_due_scan import reminder_due_scan
    from benchmarks.report import emit
    from benchmarks.report_month import report_month

    server = ServerConfig(
        workers=args.workers, worker_class=args.worker_class, threads=args.threads
    )
    runs: dict[str, Callable[[], dict[str, Any]]] = {
        "availability_30d_one_staff": lambda: availability_30d_one_staff(
            seed, n=args.runs, warmup=5
        ),
        "availability_7d_any_staff": lambda: availability_7d_any_staff(seed, n=args.runs, warmup=5),
        "booking_service": lambda: booking_service(seed, n=args.bookings, warmup=20),
        "booking_http": lambda: booking_http(
            seed, seconds=args.seconds, warmup_seconds=args.warmup_seconds, server=server
        ),
        "reminder_due_scan": lambda: reminder_due_scan(seed, n=args.ticks, warmup=3),
        "reminder_dispatch": lambda: reminder_dispatch(seed, messages=args.messages),
        "day_view": lambda: day_view(n=args.runs, warmup=3),
        "report_month": lambda: report_month(n=args.runs, warmup=3),
    }
    crashed = missed = 0
    for name in NAMES:
        if name not in names:
            continue
        background = machine_busy_share()
        if background is not None and background > BUSY_WARNING:
            log.warning(
                "the machine is %.0f%% busy before %s: its figures will be worse than they are",
                background * 100,
                name,
            )
        log.info("running %s", name)
        try:
            result = runs[name]()
        except Exception as exc:
            traceback.print_exc()
            crashed += 1
            result = {"name": name, "ok": False, "error": f"{type(exc).__name__}: {exc}"}
        result["background_cpu_share"] = background
        missed += not result.get("ok")
        emit(result)
    if crashed or (args.strict and missed):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
