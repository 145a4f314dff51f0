"""The waitlist refills freed times: matching clients get an offer, the first to claim wins."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection, transaction
from django.test import Client as DjangoClient
from django_scopes import scope

from appointments.models import Appointment, AppointmentStatus, Source
from appointments.services import Actor, appointment_book, appointment_cancel
from clients.models import Client
from hooks.models import WebhookDelivery, WebhookEndpoint
from reminders.channels.sms import LocmemSMSBackend
from selfservice.models import (
    FreedSlot,
    OfferStatus,
    PartOfDay,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistSource,
    WaitlistStatus,
)
from selfservice.selectors import freed_count, refilled_count
from selfservice.services.outgoing import selfservice_send_due
from selfservice.services.waitlist import (
    AlreadyTaken,
    offer_by_token,
    waitlist_join,
    waitlist_offer_claim,
    waitlist_slot_freed,
)
from selfservice.tasks import send_due_selfservice_messages
from tests.factories import ClientFactory
from tests.selfservice.conftest import NOW, Shop

# Friday 29 May 2026, 10:00 in Madrid (a morning).
FRIDAY_10 = datetime(2026, 5, 29, 8, 0, tzinfo=UTC)
TOKEN = re.compile(r"/waitlist/offer/([A-Za-z0-9_-]+)/")


def _book(shop: Shop, client: Client, start: datetime = FRIDAY_10) -> Appointment:
    return appointment_book(
        tenant=shop.business,
        location=shop.location,
        staff=shop.ana,
        service=shop.service,
        client=client,
        start=start,
        source=Source.DASHBOARD,
        actor=Actor.system(),
        now=NOW,
    )


def _wait(shop: Shop, client: Client, **wishes: Any) -> WaitlistEntry:
    return waitlist_join(
        tenant=shop.business,
        client=client,
        service=shop.service,
        source=WaitlistSource.STAFF,
        now=NOW,
        **wishes,
    )


def _cancel_and_offer(appointment: Appointment) -> None:
    """Cancel through the workflow, which sends `appointment_cancelled` with the status change;
    committed, so that the receiver's on_commit runs."""
    appointment_cancel(appointment=appointment, actor=Actor.system(), now=NOW)


def _tokens_by_phone() -> dict[str, str]:
    found = {}
    for sms in LocmemSMSBackend.outbox:
        match = TOKEN.search(sms.body)
        if match:
            found[sms.to] = match.group(1)
    return found


@pytest.fixture
def waiting(shop: Shop) -> tuple[Client, Client, Appointment]:
    with scope(tenant=shop.business):
        first = ClientFactory(tenant=shop.business, name="Marta")
        second = ClientFactory(tenant=shop.business, name="Nuria")
        holder = ClientFactory(tenant=shop.business, name="Olga")
        _wait(shop, first)
        _wait(shop, second, parts_of_day=[PartOfDay.MORNING], weekdays=[4])
        appointment = _book(shop, holder)
    return first, second, appointment


@pytest.mark.django_db(transaction=True)
def test_a_cancellation_offers_the_time_to_each_matching_client_once(
    shop: Shop, waiting: tuple[Client, Client, Appointment]
) -> None:
    first, second, appointment = waiting
    with scope(tenant=shop.business):
        _cancel_and_offer(appointment)
        # Sent twice (a retried job): still one freed slot and one offer per client.
        waitlist_slot_freed(appointment_id=appointment.pk, now=NOW)
        assert FreedSlot.objects.count() == 1
        assert WaitlistOffer.objects.count() == 2
    result = selfservice_send_due(now=NOW)
    assert result["sent"] == 2
    assert selfservice_send_due(now=NOW)["sent"] == 0  # nothing sent twice
    tokens = _tokens_by_phone()
    assert set(tokens) == {first.phone, second.phone}
    body = next(s.body for s in LocmemSMSBackend.outbox if s.to == first.phone)
    assert "Friday 29 May, 10:00 AM" in body and "Europe/Madrid" in body
    with scope(tenant=shop.business):
        assert freed_count(shop.business, NOW, NOW + timedelta(days=1)) == 1
        assert refilled_count(shop.business, NOW, NOW + timedelta(days=1)) == 0


@pytest.mark.django_db(transaction=True)
def test_wishes_that_do_not_match_get_no_offer(shop: Shop) -> None:
    with scope(tenant=shop.business):
        evening = ClientFactory(tenant=shop.business)
        monday = ClientFactory(tenant=shop.business)
        with_bea = ClientFactory(tenant=shop.business)
        _wait(shop, evening, parts_of_day=[PartOfDay.EVENING])
        _wait(shop, monday, weekdays=[0])
        _wait(shop, with_bea, staff=shop.bea)
        appointment = _book(shop, ClientFactory(tenant=shop.business))
        _cancel_and_offer(appointment)
        assert FreedSlot.objects.count() == 1
        assert WaitlistOffer.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_past_or_rolled_back_cancellation_offers_nothing(shop: Shop, waiting: Any) -> None:
    _first, _second, appointment = waiting
    with scope(tenant=shop.business):
        assert waitlist_slot_freed(appointment_id=appointment.pk, now=NOW) is None  # not cancelled
        with pytest.raises(RuntimeError), transaction.atomic():
            appointment_cancel(appointment=appointment, actor=Actor.system(), now=NOW)
            raise RuntimeError("rolled back")
        assert FreedSlot.objects.count() == 0
        appointment_cancel(appointment=appointment, actor=Actor.system(), now=NOW)
        assert FreedSlot.objects.count() == 1  # the workflow's signal, after the commit
        FreedSlot.objects.all().delete()
        later = FRIDAY_10 + timedelta(hours=1)  # the time has passed: nothing to offer
        assert waitlist_slot_freed(appointment_id=appointment.pk, now=later) is None
        assert FreedSlot.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_first_to_claim_gets_it_and_the_other_stays_on_the_list(
    client: DjangoClient, shop: Shop, waiting: tuple[Client, Client, Appointment]
) -> None:
    first, second, appointment = waiting
    with scope(tenant=shop.business):
        hook = WebhookEndpoint.objects.create(
            tenant=shop.business,
            url="https://hooks.example/puntual",
            events=["waitlist.claimed"],
            secret="whsec_test",
        )
        _cancel_and_offer(appointment)
    selfservice_send_due(now=NOW)
    tokens = _tokens_by_phone()
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        page = client.get(f"/sonrisa/waitlist/offer/{tokens[second.phone]}/")
        assert page.status_code == 200 and b"Book this time" in page.content
        claimed = client.post(f"/sonrisa/waitlist/offer/{tokens[second.phone]}/")
        assert claimed.status_code == 303 and "/sonrisa/book/done/" in claimed["Location"]
        late = client.post(f"/sonrisa/waitlist/offer/{tokens[first.phone]}/")
        assert late.status_code == 409
        assert b"someone else took this time first" in late.content
        again = client.post(f"/sonrisa/waitlist/offer/{tokens[second.phone]}/")
        assert again.status_code == 303  # the winner's replay: their booking, nothing more
    with scope(tenant=shop.business):
        # Integrations hear of the claim once: waitlist.claimed, whatever the replays.
        deliveries = list(WebhookDelivery.objects.filter(endpoint=hook))
        assert [d.event_type for d in deliveries] == ["waitlist.claimed"]
        assert deliveries[0].payload["data"]["client"] == second.pk
        assert "/sonrisa/book/done/" in again["Location"]
        page = client.get(f"/sonrisa/waitlist/offer/{tokens[second.phone]}/")
        assert b"This time is yours" in page.content
    with scope(tenant=shop.business):
        booked = Appointment.objects.get(status=AppointmentStatus.SCHEDULED)
        assert booked.client_id == second.pk and booked.start == FRIDAY_10
        assert booked.staff_id == shop.ana.pk and booked.source == Source.ONLINE
        entries = {e.client_id: e for e in WaitlistEntry.objects.all()}
        assert entries[second.pk].status == WaitlistStatus.BOOKED
        assert entries[second.pk].booked_appointment_id == booked.pk
        assert entries[first.pk].status == WaitlistStatus.WAITING
        assert refilled_count(shop.business, NOW, NOW + timedelta(days=1)) == 1
        offer = WaitlistOffer.objects.get(entry=entries[second.pk])
        assert offer.status == OfferStatus.CLAIMED


@pytest.mark.django_db(transaction=True)
def test_an_offer_expires(client: DjangoClient, shop: Shop, waiting: Any, settings: Any) -> None:
    settings.SELFSERVICE_OFFER_HOURS = 2
    first, _second, appointment = waiting
    with scope(tenant=shop.business):
        _cancel_and_offer(appointment)
    selfservice_send_due(now=NOW)
    token = _tokens_by_phone()[first.phone]
    with time_machine.travel(NOW + timedelta(hours=2, minutes=1), tick=False):
        page = client.get(f"/sonrisa/waitlist/offer/{token}/")
        assert b"This offer has expired" in page.content and b"Book this time" not in page.content
        response = client.post(f"/sonrisa/waitlist/offer/{token}/")
        assert response.status_code == 410
    with scope(tenant=shop.business):
        assert Appointment.objects.filter(status=AppointmentStatus.SCHEDULED).count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_time_booked_otherwise_meanwhile_is_already_taken(shop: Shop, waiting: Any) -> None:
    first, _second, appointment = waiting
    with scope(tenant=shop.business):
        _cancel_and_offer(appointment)
        _book(shop, ClientFactory(tenant=shop.business))  # the front desk filled it
        offer = WaitlistOffer.objects.get(entry__client=first)
        with pytest.raises(AlreadyTaken):
            waitlist_offer_claim(offer=offer, now=NOW)
        assert WaitlistEntry.objects.get(client=first).status == WaitlistStatus.WAITING


def test_an_unknown_offer_link_is_404(client: DjangoClient, shop: Shop) -> None:
    assert client.get("/sonrisa/waitlist/offer/nope/").status_code == 404
    assert client.post("/sonrisa/waitlist/offer/nope/").status_code == 404


@pytest.mark.usefixtures("frozen")
def test_a_client_joins_from_the_booking_page_without_duplicates(
    client: DjangoClient, shop: Shop
) -> None:
    data = {
        "service": shop.service.pk,
        "staff": shop.bea.pk,
        "weekdays": ["0", "2"],
        "parts_of_day": ["morning"],
        "name": "Rosa",
        "phone": "611 222 333",
        "sms_consent": "on",
    }
    page = client.get("/sonrisa/waitlist/join/", {"service": shop.service.pk, "staff": shop.bea.pk})
    assert page.status_code == 200 and b"Join the waitlist" in page.content
    assert client.post("/sonrisa/waitlist/join/", data).status_code == 200
    data["weekdays"] = ["4"]
    assert client.post("/sonrisa/waitlist/join/", data).status_code == 200
    with scope(tenant=shop.business):
        [entry] = WaitlistEntry.objects.all()
    assert entry.staff_id == shop.bea.pk and entry.weekdays == [4]
    assert entry.parts_of_day == ["morning"] and entry.source == WaitlistSource.ONLINE


@pytest.mark.usefixtures("frozen")
def test_bad_waitlist_choices_are_a_clear_400(client: DjangoClient, shop: Shop) -> None:
    data = {
        "service": shop.service.pk,
        "weekdays": ["9"],
        "name": "Rosa",
        "phone": "611 222 333",
    }
    response = client.post("/sonrisa/waitlist/join/", data)
    assert response.status_code == 400
    with scope(tenant=shop.business):
        assert WaitlistEntry.objects.count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_clients_claiming_at_once_book_exactly_once(shop: Shop) -> None:
    """Real PostgreSQL row locks: threads released together claim the same freed time."""
    with scope(tenant=shop.business):
        clients = [ClientFactory(tenant=shop.business) for _ in range(6)]
        for waiting_client in clients:
            _wait(shop, waiting_client)
        appointment = _book(shop, ClientFactory(tenant=shop.business))
        _cancel_and_offer(appointment)
        offers = list(WaitlistOffer.objects.all())
    assert len(offers) == 6
    barrier = threading.Barrier(len(offers))
    outcomes: list[str] = []

    def claim(offer: WaitlistOffer) -> None:
        try:
            with scope(tenant=shop.business):
                barrier.wait()
                waitlist_offer_claim(offer=offer, now=NOW)
            outcomes.append("booked")
        except AlreadyTaken:
            outcomes.append("taken")
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(offer,)) for offer in offers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["booked"] + ["taken"] * 5
    with scope(tenant=shop.business):
        assert Appointment.objects.filter(status=AppointmentStatus.SCHEDULED).count() == 1
        assert WaitlistEntry.objects.filter(status=WaitlistStatus.WAITING).count() == 5
        assert FreedSlot.objects.get().refilled_by_id is not None


def test_offer_lookup_needs_the_business_scope(shop: Shop) -> None:
    with scope(tenant=shop.business):
        assert offer_by_token(token="x" * 65) is None


@pytest.mark.django_db(transaction=True)
def test_a_cancellation_rolled_back_frees_nothing(shop: Shop, waiting: Any) -> None:
    _first, _second, appointment = waiting
    with scope(tenant=shop.business):
        with pytest.raises(RuntimeError), transaction.atomic():
            _cancel_and_offer(appointment)
            raise RuntimeError("the request failed after the cancellation")
        assert FreedSlot.objects.count() == 0 and WaitlistOffer.objects.count() == 0
        # Committed, the same signal offers the time.
        with transaction.atomic():
            _cancel_and_offer(appointment)
            assert FreedSlot.objects.count() == 0  # not before the commit
        assert FreedSlot.objects.count() == 1 and WaitlistOffer.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_beat_task_sends_the_due_offers(shop: Shop, waiting: Any) -> None:
    _first, _second, appointment = waiting
    with scope(tenant=shop.business):
        _cancel_and_offer(appointment)
    with time_machine.travel(NOW, tick=False):
        result = send_due_selfservice_messages()
    assert result["offers"] == 2 and result["sent"] == 2
    with scope(tenant=shop.business):
        offers = list(WaitlistOffer.objects.all())
    assert {offer.status for offer in offers} == {OfferStatus.SENT}
    assert {offer.channel for offer in offers} == {"sms"}
