"""Where the CPU went during a load test: this process (the clients), gunicorn, PostgreSQL.

Linux only (reads /proc); elsewhere every figure is None.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PROC = Path("/proc")


@dataclass(frozen=True)
class Sample:
    clients: float
    server: float
    postgres: float
    busy: float  # every CPU, every process
    total: float  # every CPU, busy or idle


def _title(pid: int) -> str:
    """The process title: PostgreSQL's backends name their database there."""
    try:
        return (
            (_PROC / str(pid) / "cmdline")
            .read_bytes()
            .replace(b"\0", b" ")
            .decode(errors="replace")
        )
    except OSError:
        return ""


def _processes() -> list[tuple[int, str, int, float]]:
    """(pid, command, parent pid, user + system seconds) of every process."""
    found = []
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        # The command is in parentheses and may hold spaces: split after the last one.
        command = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        found.append(
            (int(entry.name), command, int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS)
        )
    return found


def sample(server_pid: int, database: str) -> Sample | None:
    """CPU seconds so far of: this process, the server and its workers, PostgreSQL working
    for `database` (its backends plus the shared writers), and the whole machine."""
    try:
        cpu = (_PROC / "stat").read_text().splitlines()[0].split()[1:]
        processes = _processes()
    except (OSError, ValueError, IndexError):
        return None
    ticks = [int(value) for value in cpu[:8]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    clients = server = postgres = 0.0
    for pid, command, parent, seconds in processes:
        if pid == os.getpid():
            clients += seconds
        elif server_pid in (pid, parent):
            server += seconds
        elif command.startswith("postgres"):
            title = _title(pid)
            # A backend's title is "postgres: <cluster>: <user> <database> <client> <what>".
            backend = title.count(":") >= 2 and "(" in title
            if not backend or f" {database} " in title:
                postgres += seconds
    return Sample(
        clients=clients,
        server=server,
        postgres=postgres,
        busy=(sum(ticks) - idle) / _TICKS,
        total=sum(ticks) / _TICKS,
    )


def usage(before: Sample | None, after: Sample | None, requests: int) -> dict[str, object]:
    """CPU milliseconds per request of each party, and how busy the machine was."""
    if before is None or after is None or requests <= 0:
        return {}
    total = after.total - before.total

    def per_request(seconds: float) -> float:
        return round(seconds * 1000 / requests, 2)

    return {
        "cpu_ms_per_request": {
            "server": per_request(after.server - before.server),
            "postgres": per_request(after.postgres - before.postgres),
            "clients": per_request(after.clients - before.clients),
            "other": per_request(
                (after.busy - before.busy)
                - (after.server - before.server)
                - (after.postgres - before.postgres)
                - (after.clients - before.clients)
            ),
            "all": per_request(after.busy - before.busy),
        },
        "cpu_busy_share": round((after.busy - before.busy) / total, 3) if total > 0 else None,
    }


def machine_busy_share(seconds: float = 1.0) -> float | None:
    """How busy every CPU is over `seconds` while this process waits: the background load."""
    import time

    def ticks() -> tuple[int, int] | None:
        try:
            values = [int(v) for v in (_PROC / "stat").read_text().splitlines()[0].split()[1:9]]
        except (OSError, ValueError):
            return None
        return sum(values) - values[3] - values[4], sum(values)

    first = ticks()
    time.sleep(seconds)
    second = ticks()
    if first is None or second is None or second[1] == first[1]:
        return None
    return round((second[0] - first[0]) / (second[1] - first[1]), 3)


class Tracker:
    """CPU seconds of the same parties as `sample`, over a run in which processes come and go
    (a worker's PostgreSQL backends end when CONN_MAX_AGE retires their connection, and an
    ended process is gone from /proc): `poll` now and then keeps each one's last reading."""

    def __init__(self, server_pid: int, database: str) -> None:
        self.server_pid = server_pid
        self.database = database
        self._kind: dict[int, str] = {}
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._started = False

    def _classify(self, pid: int, command: str, parent: int) -> str:
        if pid == os.getpid():
            return "clients"
        if self.server_pid in (pid, parent):
            return "server"
        if command.startswith("postgres"):
            title = _title(pid)
            backend = title.count(":") >= 2 and "(" in title
            if not backend or f" {self.database} " in title:
                return "postgres"
        return ""

    def poll(self) -> None:
        try:
            processes = _processes()
        except OSError:
            return
        for pid, command, parent, seconds in processes:
            if pid not in self._kind:
                self._kind[pid] = self._classify(pid, command, parent)
                # Seen at the start: count from now; started since: count all of it.
                self._first[pid] = seconds if not self._started else 0.0
            if self._kind[pid]:
                self._last[pid] = seconds
        self._started = True

    def seconds(self) -> dict[str, float]:
        """CPU seconds of "server", "postgres" and "clients" since the first poll."""
        totals = dict.fromkeys(("server", "postgres", "clients"), 0.0)
        for pid, last in self._last.items():
            totals[self._kind[pid]] += last - self._first[pid]
        return totals
