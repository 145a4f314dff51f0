"""A webhook receiver on localhost (the outside world of these tests), and the docs' own
verification function, taken from docs/webhooks.md."""

from __future__ import annotations

import re
import shutil
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

DOCS = Path(settings.BASE_DIR) / "docs" / "webhooks.md"


def docs_verifier() -> Callable[..., bool]:
    """`verify_puntual_signature` exactly as docs/webhooks.md shows it to integrators."""
    text = DOCS.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    snippet = next(block for block in blocks if "def verify_puntual_signature" in block)
    namespace: dict[str, Any] = {}
    exec(compile(snippet, str(DOCS), "exec"), namespace)  # noqa: S102 (our own documentation)
    verifier: Callable[..., bool] = namespace["verify_puntual_signature"]
    return verifier


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool


class Receiver:
    """An HTTP server on 127.0.0.1 answering each POST with the next of `answers` (the last
    one repeats), checking every signature with the docs' function and `secret`."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.requests: list[Received] = []
        self.server_names: list[str | None] = []  # the SNI of each TLS handshake
        self.answers: list[tuple[int, dict[str, str]]] = [(200, {})]
        self.secret = ""
        self._lock = threading.Lock()
        self._verify = docs_verifier()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                verified = receiver._verify(
                    receiver.secret, body, headers.get("puntual-signature", "")
                )
                with receiver._lock:
                    receiver.requests.append(Received(self.path, headers, body, verified))
                    index = min(len(receiver.requests), len(receiver.answers)) - 1
                    status, extra = receiver.answers[index]
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.scheme = "https" if tls else "http"
        if tls is not None:
            tls.sni_callback = lambda _sock, name, _ctx: self.server_names.append(name)
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/puntual"

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def second_receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


class Practice:
    """A business with a staff member free every day 07:00-21:00 (Madrid) and a 30 min service."""

    def __init__(self) -> None:
        from datetime import time, timedelta
        from zoneinfo import ZoneInfo

        from django.utils import timezone
        from django_scopes import scope

        from tests.factories import (
            BusinessFactory,
            LocationFactory,
            ServiceFactory,
            staff_offering,
        )

        self.zone = ZoneInfo("Europe/Madrid")
        self.business = BusinessFactory(timezone="Europe/Madrid")
        with scope(tenant=self.business):
            self.location = LocationFactory(tenant=self.business)
            self.service = ServiceFactory(tenant=self.business, duration_minutes=30)
            self.staff = staff_offering(
                tenant=self.business,
                location=self.location,
                services=[self.service],
                hours=((time(7), time(21)),),
                weekdays=range(7),
            )
        self._day = timezone.now().astimezone(self.zone).date() + timedelta(days=3)
        self._minutes = 8 * 60

    def book(self) -> Any:
        from datetime import datetime, time

        from django_scopes import scope

        from appointments.models import Source
        from appointments.services import Actor, appointment_book
        from tests.factories import ClientFactory

        start = datetime.combine(
            self._day, time(self._minutes // 60, self._minutes % 60), tzinfo=self.zone
        )
        self._minutes += 30
        with scope(tenant=self.business):
            return appointment_book(
                tenant=self.business,
                location=self.location,
                staff=self.staff,
                service=self.service,
                client=ClientFactory(tenant=self.business),
                start=start,
                source=Source.DASHBOARD,
                actor=Actor.system(),
            )


@pytest.fixture
def practice(db: None) -> Practice:
    return Practice()


def certificates(directory: Path, name: str) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for `name` it signed: (ca, cert, key)."""
    ca_key, ca, key, csr, cert = (
        directory / f for f in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem")
    )
    extensions = directory / "server.ext"
    extensions.write_text(
        f"subjectAltName=DNS:{name}\nbasicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"
        "authorityKeyIdentifier=keyid,issuer\n"
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ca_options = [
        *("-subj", "/CN=Puntual test CA"),
        *("-addext", "basicConstraints=critical,CA:TRUE"),
        *("-addext", "keyUsage=critical,keyCertSign,cRLSign"),
    ]
    openssl = shutil.which("openssl")
    assert openssl, "the webhook TLS tests need the openssl command"
    for command in (
        ["req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2", *ca_options],
        ["req", *ec, "-keyout", key, "-out", csr, "-subj", f"/CN={name}"],
        [
            *("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial"),
            *("-out", cert, "-days", "2", "-extfile", extensions),
        ],
    ):
        subprocess.run(  # noqa: S603 (fixed arguments)
            [openssl, *map(str, command)], check=True, capture_output=True, timeout=60
        )
    return ca, cert, key
