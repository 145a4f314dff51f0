"""The email provider's tracking webhook (Postmark through anymail): authenticated, forward only."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.test import Client as DjangoClient
from django_scopes import scope

from reminders.models import Channel, MessageStatus, OutboundMessage
from tests.reminders.webhook_helpers import NOW, Shop, make_shop

pytestmark = pytest.mark.django_db

URL = "/webhooks/anymail/postmark/tracking/"
SECRET = "postmark:a-long-webhook-secret"


def basic(secret: str = SECRET) -> dict[str, Any]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()}


@pytest.fixture(autouse=True)
def _anymail(settings: Any) -> Iterator[None]:
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def shop() -> Shop:
    return make_shop()


def email(shop: Shop, **kwargs: Any) -> OutboundMessage:
    return shop.outbound(
        channel=Channel.EMAIL, to=shop.client.email, provider_id=str(uuid.uuid4()), **kwargs
    )


def delivery(message: OutboundMessage) -> dict[str, Any]:
    return {
        "RecordType": "Delivery",
        "ServerID": 23,
        "MessageStream": "outbound",
        "MessageID": message.provider_id,
        "Recipient": message.to,
        "Tag": "reminder",
        "DeliveredAt": "2026-05-28T08:05:00Z",
        "Details": "Test delivery webhook details",
        "Metadata": {},
    }


def bounce(message: OutboundMessage, kind: str = "HardBounce") -> dict[str, Any]:
    return {
        "RecordType": "Bounce",
        "ID": 4323372036854775807,
        "Type": kind,
        "TypeCode": 1 if kind == "HardBounce" else 4096,
        "Name": "Hard bounce" if kind == "HardBounce" else "Soft bounce",
        "Tag": "reminder",
        "MessageID": message.provider_id,
        "ServerID": 23,
        "MessageStream": "outbound",
        "Description": "The server was unable to deliver your message (ex: unknown user).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": message.to,
        "From": "no-reply@puntual.example.com",
        "BouncedAt": "2026-05-28T08:06:00Z",
        "DumpAvailable": True,
        "Inactive": kind == "HardBounce",
        "CanActivate": True,
        "Subject": "Your appointment",
        "Metadata": {},
    }


def complaint(message: OutboundMessage) -> dict[str, Any]:
    return {**bounce(message), "RecordType": "SpamComplaint", "Type": "SpamComplaint"}


def post(http: DjangoClient, payload: dict[str, Any], **auth: str) -> Any:
    headers: dict[str, Any] = auth or basic()
    return http.post(URL, json.dumps(payload), content_type="application/json", **headers)


def fresh(shop: Shop, message: OutboundMessage) -> OutboundMessage:
    with scope(tenant=shop.business):
        message.refresh_from_db()
    return message


@pytest.mark.parametrize(
    "auth",
    [
        {},  # no credentials
        basic("postmark:wrong"),
    ],
    ids=["none", "wrong"],
)
def test_it_refuses_requests_without_the_secret(
    client: DjangoClient, shop: Shop, auth: dict[str, Any]
) -> None:
    message = email(shop)
    response = client.post(
        URL, json.dumps(bounce(message)), content_type="application/json", **auth
    )
    assert response.status_code in {400, 403}
    assert fresh(shop, message).status == MessageStatus.SENT
    assert shop.reload().client.email_bounced_at is None


def test_without_a_configured_secret_it_refuses_everything(
    client: DjangoClient, shop: Shop, settings: Any
) -> None:
    settings.ANYMAIL = {}
    message = email(shop)
    with pytest.warns(Warning):  # anymail's own "insecure webhook" warning
        response = post(client, bounce(message))
    assert response.status_code == 400
    assert fresh(shop, message).status == MessageStatus.SENT
    assert shop.reload().client.email_bounced_at is None


def test_a_delivery_is_recorded(client: DjangoClient, shop: Shop) -> None:
    message = email(shop)
    assert post(client, delivery(message)).status_code == 200
    message = fresh(shop, message)
    assert message.status == MessageStatus.DELIVERED
    assert message.delivered_at is not None and message.delivered_at.minute == 5


def test_a_hard_bounce_fails_the_message_and_marks_the_address_for_this_business_only(
    client: DjangoClient, shop: Shop
) -> None:
    other = make_shop(name="Otro")
    with scope(tenant=other.business):
        other.client.email = shop.client.email
        other.client.save()
    message = email(shop)
    assert post(client, bounce(message)).status_code == 200
    message = fresh(shop, message)
    assert message.status == MessageStatus.FAILED
    assert "bounced" in message.status_reason
    assert shop.reload().client.email_bounced_at is not None
    assert other.reload().client.email_bounced_at is None


def test_a_soft_bounce_fails_the_message_but_not_the_address(
    client: DjangoClient, shop: Shop
) -> None:
    message = email(shop)
    post(client, bounce(message, "SoftBounce"))
    assert fresh(shop, message).status == MessageStatus.FAILED
    assert shop.reload().client.email_bounced_at is None


def test_late_or_repeated_events_never_move_backwards(client: DjangoClient, shop: Shop) -> None:
    message = email(shop)
    post(client, bounce(message, "SoftBounce"))
    post(client, delivery(message))
    post(client, bounce(message, "SoftBounce"))
    message = fresh(shop, message)
    assert message.status == MessageStatus.FAILED and message.delivered_at is None


def test_a_bounce_after_delivery_keeps_the_status_but_marks_the_address(
    client: DjangoClient, shop: Shop
) -> None:
    message = email(shop)
    post(client, delivery(message))
    post(client, bounce(message))
    assert fresh(shop, message).status == MessageStatus.DELIVERED
    assert shop.reload().client.email_bounced_at is not None


def test_a_spam_complaint_withdraws_email_consent(client: DjangoClient, shop: Shop) -> None:
    message = email(shop)
    post(client, complaint(message))
    assert fresh(shop, message).status == MessageStatus.DELIVERED
    assert shop.reload().client.email_consent is False


def test_an_event_about_an_unknown_message_is_accepted_and_ignored(
    client: DjangoClient, shop: Shop
) -> None:
    message = email(shop)
    payload = {**bounce(message), "MessageID": str(uuid.uuid4())}
    assert post(client, payload).status_code == 200
    assert fresh(shop, message).status == MessageStatus.SENT
    assert shop.reload().client.email_bounced_at is None


def test_an_sms_with_the_same_provider_id_is_not_touched(client: DjangoClient, shop: Shop) -> None:
    sms = shop.outbound(provider_id="shared-id")
    payload = {**delivery(sms), "MessageID": "shared-id"}
    assert post(client, payload).status_code == 200
    assert fresh(shop, sms).status == MessageStatus.SENT
