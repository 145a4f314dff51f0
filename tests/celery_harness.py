"""Real Celery workers, a real Redis broker, for the tests of the reliability promises.

A test starts Puntual's own worker (`celery -A config worker`, with the pool the settings give
production) as a subprocess on the test database, publishes tasks to it through Redis, and
reads what happened from the database, the worker's log and the fake providers. Only the
outside world is fake: Twilio is `tests.fake_twilio.FakeTwilio` over HTTP, email goes to files.

Every test gets its own key prefix on the broker (kombu's `global_keyprefix`): its queues,
unacked messages and control keys never meet another test's, another xdist worker's, or
another engineer's run on the same Redis. A test that needs to stop the broker starts its
own `RedisServer` instead.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import redis
from celery import Celery

REPO_ROOT = Path(__file__).resolve().parents[1]
CELERY = Path(sys.executable).with_name("celery")  # the virtualenv's, like Procfile.dev's

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.05
) -> T:
    """Poll `condition` until it returns something truthy; fail with `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def database_url(settings_dict: Mapping[str, Any]) -> str:
    """A DATABASE_URL naming the database Django is connected to (pytest-django's test DB)."""
    user = quote(str(settings_dict.get("USER") or ""), safe="")
    password = quote(str(settings_dict.get("PASSWORD") or ""), safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{credentials}{host}:{port}/{settings_dict['NAME']}"


# -- the broker --------------------------------------------------------------------------------


class RedisServer:
    """A throwaway redis-server on a free port, without persistence: stopping it loses every
    message, as a broker restart without AOF does. Never the shared Redis."""

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(  # noqa: S603 (fixed arguments)
                [
                    binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        wait_until(lambda: _pings(client), timeout=10, what=f"redis-server on port {self.port}")
        return self

    def kill(self) -> None:
        """SIGKILL: the broker vanishes with everything it held."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=10)
        self._process = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.kill()


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


@dataclass
class Broker:
    """One test's corner of a Redis broker: a unique key prefix, and a way to publish to it."""

    url: str
    prefix: str = field(default_factory=lambda: f"puntual-test-{uuid.uuid4().hex[:12]}:")
    # 3600 s as in settings: a task held by a dead worker comes back only after an hour.
    visibility_timeout: float = 3600

    def __post_init__(self) -> None:
        self._app = Celery("puntual-test-publisher", set_as_current=False)
        # The publisher gives up at once on a dead broker (the worker keeps Celery's retries).
        self._app.conf.broker_transport_options = self.transport_options(max_retries=0)

    def transport_options(self, **overrides: float) -> dict[str, Any]:
        return {
            "global_keyprefix": self.prefix,
            "visibility_timeout": self.visibility_timeout,
            **overrides,
        }

    def publish(self, task: str, *args: Any, task_id: str | None = None) -> str:
        """Publish one task as Puntual's code does (`.delay`); returns the task's id.

        Raises kombu's OperationalError at once when the broker is down (no retry)."""
        with self._app.connection_for_write(self.url) as connection:
            result = self._app.send_task(
                task, args=list(args), task_id=task_id, connection=connection, retry=False
            )
        return str(result.id)

    def flush(self) -> None:
        """Delete this test's keys (nothing else's)."""
        client = redis.Redis.from_url(self.url, socket_timeout=2)
        try:
            keys = list(client.scan_iter(match=f"{self.prefix}*", count=500))
            if keys:
                client.delete(*keys)
        except redis.ConnectionError:
            pass  # a throwaway server already gone took its keys with it
        finally:
            client.close()


# -- the worker --------------------------------------------------------------------------------

# "Task reminders.tasks.send_message[<id>] succeeded in 0.01s: 'sent'"
_SUCCEEDED = re.compile(
    r"Task (?P<name>[\w.]+)\[(?P<id>[\w-]+)\] succeeded in [\d.e-]+s: (?P<value>.*)$"
)


@dataclass(frozen=True)
class TaskRun:
    name: str
    task_id: str
    value: str  # as logged: repr() of what the task returned

    @property
    def result(self) -> Any:
        return ast.literal_eval(self.value)


class CeleryWorker:
    """`celery -A config worker` in its own process group, logging to a file the test reads.

    The pool is the one the settings choose for production unless `pool` names another
    (Celery's `--pool prefork` alone would not: it reads as "the default" and yields to the
    configured pool, so the harness sets CELERY_WORKER_POOL too)."""

    def __init__(
        self,
        *,
        broker: Broker,
        env: Mapping[str, str],
        log_path: Path,
        concurrency: int = 2,
        pool: str | None = None,
        transport_overrides: Mapping[str, float] | None = None,
    ) -> None:
        self.broker = broker
        self.log_path = log_path
        self.name = f"harness-{uuid.uuid4().hex[:8]}@%h"
        options = broker.transport_options(**(transport_overrides or {}))
        self.command = [
            str(CELERY),
            "-A",
            "config",
            "worker",
            "--loglevel",
            "INFO",
            *(["--pool", pool] if pool else []),
            "--concurrency",
            str(concurrency),
            "--hostname",
            self.name,
            # Nothing to share with other workers: faster start, no broadcast traffic.
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--",
            f"broker.transport_options=(json){json.dumps(options)}",
        ]
        self.env = {
            **env,
            "CELERY_BROKER_URL": broker.url,
            **({"CELERY_WORKER_POOL": pool} if pool else {}),
        }
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, *, timeout: float = 30) -> CeleryWorker:
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(  # noqa: S603 (fixed arguments)
                self.command,
                cwd=REPO_ROOT,
                env=dict(self.env),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # one process group: killing it kills the pool too
            )
        self.wait_for_log(re.compile(r"\bready\.$", re.MULTILINE), timeout=timeout, what="ready")
        return self

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def exited(self) -> bool:
        return self._process is not None and self._process.poll() is not None

    def reconnections(self) -> int:
        """How many times the worker connected to its broker after its first connection."""
        return max(0, len(re.findall(r"Connected to redis://", self.log())) - 1)

    def pool_pids(self) -> list[int]:
        """The prefork pool's processes (the worker's children)."""
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for_log(
        self, pattern: re.Pattern[str], *, timeout: float, what: str, even_if_exited: bool = False
    ) -> str:
        def found() -> str:
            if not even_if_exited and self.exited():
                raise AssertionError(f"the worker exited:\n{self.log()[-4000:]}")
            match = pattern.search(self.log())
            return match.group(0) if match else ""

        try:
            return wait_until(found, timeout=timeout, what=f"the worker's log to show {what}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- worker log ---\n{self.log()[-4000:]}") from None

    def runs(self, name: str = "") -> list[TaskRun]:
        """The tasks this worker finished, in order, with the value each returned."""
        found = []
        for line in self.log().splitlines():
            match = _SUCCEEDED.search(line)
            if match and (not name or match["name"] == name):
                found.append(TaskRun(match["name"], match["id"], match["value"].strip()))
        return found

    def idle(self) -> bool:
        """Every task this worker received has finished (successfully: a failure never counts)."""
        log = self.log()
        return len(re.findall(r"\] received$", log, re.MULTILINE)) == len(
            re.findall(r"\] succeeded in ", log)
        )

    def send_outcomes(self) -> Counter[str]:
        """What the send tasks this worker finished returned, per message: "sent",
        "not_taken", ... (from `send_message`'s one outcome and `send_messages`' counts)."""
        outcomes: Counter[str] = Counter()
        for run in self.runs():
            if not run.name.startswith("reminders.tasks.send_message"):
                continue
            value = ast.literal_eval(run.value)
            outcomes.update({value: 1} if isinstance(value, str) else value)
        return outcomes

    def wait_for_run(self, task_id: str, *, timeout: float = 20) -> TaskRun:
        def finished() -> TaskRun | None:
            return next((run for run in self.runs() if run.task_id == task_id), None)

        try:
            return wait_until(finished, timeout=timeout, what=f"task {task_id} to finish")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- worker log ---\n{self.log()[-4000:]}") from None

    def kill(self) -> None:
        """SIGKILL the whole worker, pool included: no shutdown, no ack, no cleanup."""
        if self._process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGKILL)
        self._process.wait(timeout=10)
        self._process = None

    def __enter__(self) -> CeleryWorker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.kill()


def worker_env(
    *,
    database_url: str,
    twilio_url: str,
    email_dir: Path,
    twilio_read_timeout: float = 1.0,
) -> dict[str, str]:
    """The worker's whole environment: nothing from a developer's shell or `.env` leaks in."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),  # noqa: S108 (only a fallback for HOME)
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DJANGO_READ_DOT_ENV": "0",
        "PUNTUAL_TEST_WORKER": "1",
        "DATABASE_URL": database_url,
        "PUNTUAL_BASE_URL": "https://puntual.example",
        "SMS_BACKEND": "reminders.channels.sms.TwilioSMSBackend",
        "TWILIO_API_BASE_URL": twilio_url,
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "fake-twilio-token",
        "TWILIO_FROM_NUMBER": "+34911000000",
        "TWILIO_CONNECT_TIMEOUT": "1",
        "TWILIO_READ_TIMEOUT": str(twilio_read_timeout),
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(email_dir),
    }


def emails_by_message(email_dir: Path) -> dict[int, int]:
    """How many emails the worker wrote per outbox row (their X-Puntual-Message header)."""
    counts: dict[int, int] = {}
    if not email_dir.exists():
        return counts
    for path in email_dir.iterdir():
        for match in re.finditer(r"^X-Puntual-Message: (\d+)$", path.read_text(), re.MULTILINE):
            message_id = int(match.group(1))
            counts[message_id] = counts.get(message_id, 0) + 1
    return counts
