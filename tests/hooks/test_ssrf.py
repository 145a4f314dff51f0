"""Webhooks go only to public addresses: refused when saved and again when connecting, with
the name resolved once (no DNS rebinding) and no redirect followed.

Name resolution is faked at `socket.getaddrinfo` only (the machine has no outside DNS); the
numeric forms go through the real resolver."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django_scopes import scopes_disabled

from hooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from hooks.security import UnsafeTarget, checked_address
from hooks.services import delivery_attempt, endpoint_create, send_test_event
from tenants.models import Business
from tests.hooks.conftest import Receiver

REAL_GETADDRINFO = socket.getaddrinfo
PUBLIC = "93.184.216.34"


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[str]]]:
    """Names → the addresses they resolve to (in turn, when several answers are listed as
    "a|b": each call takes the next). Other names go to the real resolver."""
    names: dict[str, list[str]] = {}
    calls: dict[str, int] = {}

    def fake(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host in names:
            answers = names[host]
            if not answers:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            turn = calls.get(host, 0)
            calls[host] = turn + 1
            addresses = answers[min(turn, len(answers) - 1)].split(",")
            return [
                (
                    socket.AF_INET6 if ":" in a else socket.AF_INET,
                    socket.SOCK_STREAM,
                    6,
                    "",
                    (a, port or 0, 0, 0) if ":" in a else (a, port or 0),
                )
                for a in addresses
            ]
        return REAL_GETADDRINFO(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    yield names


REFUSED = [
    pytest.param("https://127.0.0.1/hooks", id="loopback"),
    pytest.param("https://127.1.2.3/", id="loopback-range"),
    pytest.param("https://[::1]/hooks", id="ipv6-loopback"),
    pytest.param("https://10.0.0.1/hooks", id="private-10"),
    pytest.param("https://172.16.5.4/", id="private-172"),
    pytest.param("https://192.168.1.1/", id="private-192"),
    pytest.param("https://169.254.169.254/latest/meta-data/", id="metadata"),
    pytest.param("https://[fd00:ec2::254]/", id="aws-ipv6-metadata"),
    pytest.param("https://100.100.100.200/", id="alibaba-metadata-shared"),
    pytest.param("https://2130706433/", id="decimal-loopback"),
    pytest.param("https://0x7f.1/", id="hex-loopback"),
    pytest.param("https://017700000001/", id="octal-loopback"),
    pytest.param("https://[::ffff:127.0.0.1]/", id="ipv4-mapped-loopback"),
    pytest.param("https://[::ffff:a9fe:a9fe]/", id="ipv4-mapped-metadata"),
    pytest.param("https://[64:ff9b::a9fe:a9fe]/", id="nat64-metadata"),
    pytest.param("https://[fe80::1]/", id="ipv6-link-local"),
    pytest.param("https://0.0.0.0/", id="unspecified"),
    pytest.param("https://224.0.0.1/", id="multicast"),
    pytest.param("https://240.0.0.1/", id="reserved"),
    pytest.param("https://internal.example/hooks", id="name-resolving-private"),
    pytest.param("https://mixed.example/hooks", id="name-resolving-public-and-private"),
    pytest.param("https://localhost/hooks", id="localhost-name"),
]


@override_settings(PUNTUAL_WEBHOOKS_ALLOW_LOCALHOST=False)
@pytest.mark.parametrize("url", REFUSED)
def test_private_and_local_targets_are_refused(url: str, dns: dict[str, list[str]]) -> None:
    dns["internal.example"] = ["10.1.2.3"]
    dns["mixed.example"] = [f"{PUBLIC},192.168.0.10"]
    dns["localhost"] = ["127.0.0.1,::1"]

    with pytest.raises(UnsafeTarget, match="private, local or reserved"):
        checked_address(url)


@override_settings(PUNTUAL_WEBHOOKS_ALLOW_LOCALHOST=False)
@pytest.mark.parametrize("url", REFUSED)
def test_saving_such_a_target_is_a_clear_error_and_saves_nothing(
    url: str, dns: dict[str, list[str]], business: Business
) -> None:
    dns["internal.example"] = ["10.1.2.3"]
    dns["mixed.example"] = [f"{PUBLIC},192.168.0.10"]
    dns["localhost"] = ["127.0.0.1,::1"]

    with pytest.raises(ValidationError) as caught:
        endpoint_create(tenant=business, url=url, events=["appointment.created"])

    assert "webhooks go only to public internet addresses" in caught.value.message_dict["url"][0]
    with scopes_disabled():
        assert not WebhookEndpoint.objects.exists()


@override_settings(PUNTUAL_WEBHOOKS_ALLOW_LOCALHOST=False)
@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://hooks.example/", "must start with https://"),
        ("ftp://hooks.example/", "must start with https://"),
        ("https://user:pw@hooks.example/", "user name or password"),
        ("https:///nohost", "valid URL"),
        ("https://hooks.example:99999/", "valid URL"),
        ("https://no-such-name.invalid/", "could not be found"),
    ],
)
def test_malformed_or_plain_http_urls_are_refused(
    url: str, message: str, dns: dict[str, list[str]]
) -> None:
    dns["hooks.example"] = [PUBLIC]
    dns["no-such-name.invalid"] = []

    with pytest.raises(UnsafeTarget, match=message):
        checked_address(url)


@override_settings(PUNTUAL_WEBHOOKS_ALLOW_LOCALHOST=False)
def test_a_public_name_is_accepted_with_its_host_and_port(dns: dict[str, list[str]]) -> None:
    dns["hooks.example"] = [PUBLIC]

    target, address = checked_address("https://hooks.example:8443/in?x=1")

    assert str(address) == PUBLIC
    assert (target.host, target.port, target.path, target.host_header) == (
        "hooks.example",
        8443,
        "/in?x=1",
        "hooks.example:8443",
    )


def test_allowing_localhost_allows_loopback_and_http_but_never_private_networks() -> None:
    with override_settings(PUNTUAL_WEBHOOKS_ALLOW_LOCALHOST=True):
        assert str(checked_address("http://127.0.0.1:8000/")[1]) == "127.0.0.1"
        assert str(checked_address("http://[::1]:8000/")[1]) == "::1"
        for url in ("http://10.0.0.1/", "http://169.254.169.254/", "http://192.168.1.1/"):
            with pytest.raises(UnsafeTarget):
                checked_address(url)
    with override_settings(PUNTUAL_WEBHOOKS_ALLOW_LOCALHOST=False), pytest.raises(UnsafeTarget):
        checked_address("http://127.0.0.1:8000/")


# -- at connection time ---------------------------------------------------------------------


def _endpoint(business: Business, url: str) -> WebhookEndpoint:
    with scopes_disabled():
        return WebhookEndpoint.objects.create(
            tenant=business, url=url, events=["appointment.created"], secret="whsec_test"
        )


def _ping(endpoint: WebhookEndpoint) -> WebhookDelivery:
    with scopes_disabled():
        delivery = send_test_event(endpoint=endpoint)
        delivery_attempt(delivery_id=delivery.pk)
        delivery.refresh_from_db()
    return delivery


@pytest.mark.django_db
def test_a_name_that_turns_private_after_it_was_saved_is_refused_when_connecting(
    dns: dict[str, list[str]], receiver: Receiver, business: Business
) -> None:
    """Saved while public; by the delivery it resolves to this machine: nothing is sent."""
    dns["rebind.example"] = [PUBLIC]
    with override_settings(PUNTUAL_WEBHOOKS_ALLOW_LOCALHOST=False):
        endpoint, _secret = endpoint_create(
            tenant=business,
            url=f"https://rebind.example:{receiver.port}/hooks",
            events=["appointment.created"],
        )
        dns["rebind.example"] = ["127.0.0.1"]

        delivery = _ping(endpoint)

    assert receiver.requests == []
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_status_code is None
    assert "private, local or reserved" in delivery.last_error


@pytest.mark.django_db
def test_the_name_is_resolved_once_and_the_checked_address_is_the_one_connected(
    dns: dict[str, list[str]], receiver: Receiver, business: Business
) -> None:
    """DNS rebinding: the first answer is checked; a second lookup would say 10.0.0.1. The
    request reaches the checked address, with the name in its Host header."""
    dns["rebind.example"] = ["127.0.0.1", "10.0.0.1"]
    endpoint = _endpoint(business, f"http://rebind.example:{receiver.port}/hooks")
    receiver.secret = endpoint.secret

    delivery = _ping(endpoint)

    assert delivery.status == DeliveryStatus.DELIVERED
    assert len(receiver.requests) == 1
    assert receiver.requests[0].headers["host"] == f"rebind.example:{receiver.port}"
    assert receiver.requests[0].verified


@pytest.mark.django_db
@pytest.mark.parametrize(
    "location",
    ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "SECOND"],
)
def test_redirects_are_not_followed(
    location: str, receiver: Receiver, second_receiver: Receiver, business: Business
) -> None:
    target = second_receiver.url if location == "SECOND" else location
    receiver.answers = [(302, {"Location": target})]
    endpoint = _endpoint(business, receiver.url)

    delivery = _ping(endpoint)

    assert len(receiver.requests) == 1
    assert second_receiver.requests == []
    assert delivery.status == DeliveryStatus.FAILED  # a test event is tried once
    assert delivery.last_status_code == 302


@override_settings(PUNTUAL_WEBHOOKS_ALLOW_LOCALHOST=False)
def test_changing_the_url_checks_it_again_and_an_unchanged_one_can_still_be_switched_off(
    dns: dict[str, list[str]], business: Business
) -> None:
    from hooks.services import endpoint_update

    dns["hooks.example"] = [PUBLIC]
    endpoint, _secret = endpoint_create(
        tenant=business, url="https://hooks.example/in", events=["appointment.created"]
    )
    dns["hooks.example"] = []  # the name is gone

    endpoint_update(endpoint=endpoint, is_active=False)
    with pytest.raises(ValidationError):
        endpoint_update(endpoint=endpoint, url="https://10.0.0.1/in")

    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.is_active) == ("https://hooks.example/in", False)


# -- TLS: the checked address, the name's certificate -------------------------------------------


@pytest.fixture
def tls_receiver(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    """An https receiver on 127.0.0.1 whose certificate (from a throwaway CA this process
    trusts through OpenSSL's SSL_CERT_FILE) names hooks.example only."""
    import ssl

    from tests.hooks.conftest import certificates

    ca, cert, key = certificates(tmp_path, "hooks.example")
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = Receiver(tls=context).start()
    yield server
    server.stop()


@pytest.mark.django_db
def test_https_connects_to_the_checked_address_with_the_name_for_sni_and_the_certificate(
    dns: dict[str, list[str]], tls_receiver: Receiver, business: Business
) -> None:
    dns["hooks.example"] = ["127.0.0.1", "10.0.0.1"]  # a second lookup would say 10.0.0.1
    endpoint = _endpoint(business, f"https://hooks.example:{tls_receiver.port}/in")
    tls_receiver.secret = endpoint.secret

    delivery = _ping(endpoint)

    assert delivery.status == DeliveryStatus.DELIVERED, delivery.last_error
    assert tls_receiver.server_names == ["hooks.example"]
    (request,) = tls_receiver.requests
    assert request.headers["host"] == f"hooks.example:{tls_receiver.port}"
    assert request.verified


@pytest.mark.django_db
def test_https_refuses_a_certificate_for_another_name(
    dns: dict[str, list[str]], tls_receiver: Receiver, business: Business
) -> None:
    dns["elsewhere.example"] = ["127.0.0.1"]
    endpoint = _endpoint(business, f"https://elsewhere.example:{tls_receiver.port}/in")

    delivery = _ping(endpoint)

    assert delivery.status == DeliveryStatus.FAILED
    assert tls_receiver.requests == []
    assert "certificate" in delivery.last_error.lower() or "hostname" in delivery.last_error
