"""Where a webhook may be sent: public internet addresses only (no SSRF).

A target is checked twice: when an endpoint is saved (a clear error for the admin) and at
every delivery, where its name is resolved once and the connection goes to the very address
that was checked (so a DNS answer that changes between the check and the connection, "DNS
rebinding", cannot reach an internal address). Redirects are never followed (transport.py).

`PUNTUAL_WEBHOOKS_ALLOW_LOCALHOST` (development and tests only) allows plain http and the
loopback addresses, nothing else: private networks and metadata addresses stay refused.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 prefixes that carry an IPv4 address in their last 32 bits (NAT64, well-known and local).
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


class UnsafeTarget(ValueError):
    """The URL may not be called. The message is for the business's admin."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # the name (or literal address) as written, without brackets
    port: int
    path: str  # path and query, what goes on the request line
    host_header: str  # what the Host header says


def allow_localhost() -> bool:
    return bool(getattr(settings, "PUNTUAL_WEBHOOKS_ALLOW_LOCALHOST", False))


def parse(url: str) -> Target:
    """The parts of an endpoint URL, or UnsafeTarget if it is not one Puntual may call."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise UnsafeTarget(_("Enter a valid URL.")) from None
    schemes = {"https", "http"} if allow_localhost() else {"https"}
    if parts.scheme.lower() not in schemes:
        raise UnsafeTarget(_("The URL must start with https://."))
    if not parts.hostname:
        raise UnsafeTarget(_("Enter a valid URL."))
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget(_("The URL can't contain a user name or password."))
    scheme = parts.scheme.lower()
    host = parts.hostname.rstrip(".")
    if not host:
        raise UnsafeTarget(_("Enter a valid URL."))
    default_port = 443 if scheme == "https" else 80
    port = port or default_port
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    bracketed = f"[{host}]" if ":" in host else host
    host_header = bracketed if port == default_port else f"{bracketed}:{port}"
    return Target(scheme=scheme, host=host, port=port, path=path, host_header=host_header)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if any(address in network for network in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress, *, loopback_ok: bool = False) -> bool:
    """A global unicast address (IPv4-mapped and other IPv4-carrying forms judged by their IPv4)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_public(embedded, loopback_ok=loopback_ok)
    if loopback_ok and address.is_loopback:
        return True
    return not (
        not address.is_global
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or address.is_link_local
        or address.is_loopback
        or address.is_private
    )


def resolve(target: Target) -> list[IPAddress]:
    """Every address the target's host resolves to (a literal address is itself)."""
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise UnsafeTarget(
            _("The host name “%(host)s” could not be found.") % {"host": target.host}
        ) from None
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnsafeTarget(
            _("The host name “%(host)s” could not be found.") % {"host": target.host}
        )
    return addresses


def checked_address(url: str) -> tuple[Target, IPAddress]:
    """Parse and resolve `url` once; the address to connect to, if every address it resolves
    to is public (one private answer among public ones is refused too)."""
    target = parse(url)
    addresses = resolve(target)
    loopback_ok = allow_localhost()
    for address in addresses:
        if not is_public(address, loopback_ok=loopback_ok):
            raise UnsafeTarget(
                _(
                    "“%(host)s” leads to %(address)s, a private, local or reserved address:"
                    " webhooks go only to public internet addresses."
                )
                % {"host": target.host, "address": address}
            )
    return target, addresses[0]
