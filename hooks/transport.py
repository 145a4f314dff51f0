"""One POST to a webhook endpoint, to the address that was checked, never following redirects.

urllib3 directly (not requests): the connection pool is opened on the checked IP address while
TLS verifies the certificate of the host name (SNI and hostname check on the name, not the IP),
and the Host header carries the name. Nothing resolves the name a second time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import urllib3
from urllib3.exceptions import HTTPError

from hooks.security import UnsafeTarget, checked_address

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 10.0
USER_AGENT = "Puntual-Webhooks/1.0"
# What is kept of a response for the log: its code, never its body beyond a few bytes.
MAX_RESPONSE_READ = 1024


@dataclass(frozen=True)
class Outcome:
    status_code: int | None  # None: no HTTP answer (refused, unreachable, timed out)
    error: str  # "" for an answer, else why there was none
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post(url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target, address = checked_address(url)
    except UnsafeTarget as exc:
        return Outcome(None, f"refused: {exc}", elapsed())
    timeout = urllib3.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT)
    pool: urllib3.HTTPConnectionPool
    if target.scheme == "https":
        name_is_address = target.host == str(address) or ":" in target.host
        pool = urllib3.HTTPSConnectionPool(
            host=str(address),
            port=target.port,
            timeout=timeout,
            retries=False,
            maxsize=1,
            cert_reqs="CERT_REQUIRED",
            server_hostname=None if name_is_address else target.host,
            assert_hostname=target.host,
        )
    else:  # plain http: only with PUNTUAL_WEBHOOKS_ALLOW_LOCALHOST (development and tests)
        pool = urllib3.HTTPConnectionPool(
            host=str(address), port=target.port, timeout=timeout, retries=False, maxsize=1
        )
    request_headers = {
        **headers,
        "Host": target.host_header,
        "User-Agent": USER_AGENT,
        "Content-Type": "application/json",
    }
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers=request_headers,
            redirect=False,
            retries=False,
            assert_same_host=False,
            preload_content=False,
        )
        try:
            response.read(MAX_RESPONSE_READ)
        finally:
            response.release_conn()
        return Outcome(response.status, "", elapsed())
    except HTTPError as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:200], elapsed())
    except OSError as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:200], elapsed())
    finally:
        pool.close()
