"""A fake Twilio REST API on localhost: the network edge the SMS backend talks to.

Puntual's real `TwilioSMSBackend` (the `twilio` package, over HTTP) is pointed at it with
TWILIO_API_BASE_URL, so everything of Puntual's own runs as in production. The test decides
how the "provider" answers each call:

    with FakeTwilio() as twilio:
        twilio.script("+34600000001", [Outcome.RATE_LIMITED, Outcome.OK])
        twilio.default = Outcome.OK
        ...settings TWILIO_API_BASE_URL=twilio.url...
        twilio.accepted  # every message it accepted, with its form fields

Outcomes are taken per recipient (`To`) in order, then `default`: deterministic even when
several worker threads or processes send at once. `delay` (seconds) is added to every answer.
"""

from __future__ import annotations

import enum
import json
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs


class Outcome(enum.Enum):
    OK = "ok"  # 201, a message resource
    RATE_LIMITED = "rate_limited"  # 429, Twilio error 20429: nothing was sent
    SERVER_ERROR = "server_error"  # 500: Twilio may or may not have accepted it
    INVALID_NUMBER = "invalid_number"  # 400, error 21211: permanent
    OPTED_OUT = "opted_out"  # 400, error 21610: the recipient replied STOP; permanent
    HANG = "hang"  # accepts the request and answers after `hang_seconds`: a read timeout
    CLOSE = "close"  # reads the request and drops the connection without an answer


_ERRORS: dict[Outcome, tuple[int, int, str]] = {
    Outcome.RATE_LIMITED: (429, 20429, "Too Many Requests"),
    Outcome.SERVER_ERROR: (500, 20500, "Internal Server Error"),
    Outcome.INVALID_NUMBER: (400, 21211, "The 'To' number is not a valid phone number."),
    Outcome.OPTED_OUT: (
        400,
        21610,
        "Attempt to send to unsubscribed recipient",
    ),
}


@dataclass(frozen=True)
class Request:
    path: str
    form: dict[str, str]
    outcome: Outcome
    sid: str  # the SID answered (OK only), "" otherwise

    @property
    def to(self) -> str:
        return self.form.get("To", "")


class FakeTwilio:
    def __init__(self, *, delay: float = 0.0, hang_seconds: float = 5.0) -> None:
        self.delay = delay
        self.hang_seconds = hang_seconds
        self.default = Outcome.OK
        self._scripts: dict[str, deque[Outcome]] = defaultdict(deque)
        self._lock = threading.Lock()
        self.requests: list[Request] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._server.request_queue_size = 128
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- control ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, to: str, outcomes: Iterable[Outcome]) -> None:
        with self._lock:
            self._scripts[to].extend(outcomes)

    @property
    def accepted(self) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.outcome is Outcome.OK]

    def calls_to(self, to: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.to == to]

    def start(self) -> FakeTwilio:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- serving ---------------------------------------------------------------------------

    def _next_outcome(self, to: str) -> Outcome:
        with self._lock:
            queue = self._scripts.get(to)
            return queue.popleft() if queue else self.default

    def _record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out at once on keep-alive

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: the tests read `requests`

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                form = {key: values[-1] for key, values in parse_qs(raw).items()}
                if not self.path.endswith("/Messages.json"):
                    self._json(404, {"code": 20404, "message": "Not Found", "status": 404})
                    return
                outcome = fake._next_outcome(form.get("To", ""))
                if fake.delay:
                    time.sleep(fake.delay)
                if outcome is Outcome.CLOSE:
                    fake._record(Request(self.path, form, outcome, ""))
                    self.close_connection = True
                    self.connection.close()
                    return
                if outcome is Outcome.HANG:
                    fake._record(Request(self.path, form, outcome, ""))
                    time.sleep(fake.hang_seconds)
                    self._json(500, {"code": 20500, "message": "too late", "status": 500})
                    return
                if outcome is Outcome.OK:
                    sid = f"SM{uuid.uuid4().hex}"
                    fake._record(Request(self.path, form, outcome, sid))
                    self._json(201, _message_resource(sid, form))
                    return
                status, code, message = _ERRORS[outcome]
                fake._record(Request(self.path, form, outcome, ""))
                self._json(
                    status,
                    {
                        "code": code,
                        "message": message,
                        "more_info": f"https://www.twilio.com/docs/errors/{code}",
                        "status": status,
                    },
                )

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                body = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up (its read timeout): as with the real provider

        return Handler


def _message_resource(sid: str, form: dict[str, str]) -> dict[str, Any]:
    account = "AC" + "0" * 32
    return {
        "sid": sid,
        "account_sid": account,
        "to": form.get("To"),
        "from": form.get("From"),
        "messaging_service_sid": form.get("MessagingServiceSid"),
        "body": form.get("Body"),
        "status": "queued",
        "num_segments": "1",
        "direction": "outbound-api",
        "api_version": "2010-04-01",
        "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
    }
