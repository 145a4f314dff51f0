"""The schema names `Idempotency-Key` exactly where the API honours it.

Probe: every write of the schema, by an admin key, with a key longer than allowed. An
operation that honours the header refuses that before anything else (400
`invalid_idempotency_key`); one that ignores it does not. Both sets must be the same, so a
new idempotent action cannot stay undocumented (nor a documented one forget to call
`idempotent`).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import time_machine
from django.test import Client as DjangoClient

from tenants.api.idempotency import HEADER, MAX_KEY_LENGTH
from tenants.services import api_key_create
from tests.test_tenant_isolation import NOW, World

pytestmark = pytest.mark.django_db

# The object each path's {id} names, by its first segment.
KINDS = {
    "appointments": "appointment",
    "clients": "client",
    "inbox": "inbound",
    "locations": "location",
    "policies": "policy",
    "reminder-rules": "rule",
    "services": "service",
    "staff": "staff",
    "time-off": "time_off",
    "waitlist": "waitlist_entry",
    "waitlist-offers": "offer",
    "survey-results": "survey",
    "webhook-endpoints": "webhook",
    "working-hours": "hours",
    "team": "membership",
    "api-keys": "spare_key",
}


def _schema(client: DjangoClient) -> dict[str, Any]:
    return json.loads(client.get("/api/v1/schema/?format=json").content)


def test_the_idempotent_writes_are_the_documented_ones(client: DjangoClient) -> None:
    with time_machine.travel(NOW, tick=False):
        world = World("OURS")
        # The key the probe revokes is not the one it calls with.
        world.spare_key, _raw = api_key_create(  # type: ignore[attr-defined]
            tenant=world.business, name="spare", role="read_only"
        )
    schema = _schema(client)
    documented, honoured = set(), set()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method not in {"post", "put", "patch", "delete"}:
                continue
            names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
            if HEADER in names:
                documented.add((method, path))
                assert "422" in operation["responses"], (method, path)
            url = path
            if "{id}" in path:
                kind = KINDS[path.removeprefix("/api/v1/").split("/")[0]]
                url = path.replace("{id}", str(world.id_of(kind)))
            response = getattr(client, method)(
                url,
                {},
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {world.raw_key}",
                HTTP_IDEMPOTENCY_KEY="k" * (MAX_KEY_LENGTH + 1),
            )
            assert response.status_code != 500, (method, path)
            if response.status_code == 400 and (
                response.json().get("code") == "invalid_idempotency_key"
            ):
                honoured.add((method, path))
    assert honoured, "the probe found nothing: is the length check still first?"
    assert documented == honoured


def test_a_reused_key_is_a_422_as_documented(client: DjangoClient) -> None:
    with time_machine.travel(NOW, tick=False):
        world = World("OURS")
    auth: dict[str, Any] = {
        "HTTP_AUTHORIZATION": f"Bearer {world.raw_key}",
        "HTTP_IDEMPOTENCY_KEY": "same",
    }
    url = f"/api/v1/appointments/{world.appointment.pk}/"
    first = client.post(url + "confirm/", content_type="application/json", **auth)
    assert first.status_code == 200
    other = client.post(url + "notes/", {"note": "x"}, content_type="application/json", **auth)
    assert other.status_code == 201  # notes do not honour the header: nothing to replay
    reused = client.post(url + "check-in/", content_type="application/json", **auth)
    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"
