"""An API key on the hot path: one indexed query to find it, no write per request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client as DjangoClient
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from tenants.models import ApiKey, ApiKeyRole, Business
from tenants.services import api_key_create, api_key_revoke

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


def test_a_request_with_a_key_costs_one_query_and_writes_at_most_once_a_minute(
    client: DjangoClient, business: Business
) -> None:
    _key, raw = api_key_create(tenant=business, name="hot", role=ApiKeyRole.ADMIN)
    auth: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    with time_machine.travel(T0, tick=False):
        client.get("/api/v1/business/", **auth)  # first use: records last_used_at
    with (
        time_machine.travel(T0 + timedelta(seconds=59), tick=False),
        CaptureQueriesContext(connection) as queries,
    ):
        assert client.get("/api/v1/business/", **auth).status_code == 200
    sql = [q["sql"] for q in queries.captured_queries]
    assert len(sql) == 1, sql  # the key, with its business, by its indexed lookup
    assert "tenants_apikey" in sql[0] and "tenants_business" in sql[0]
    with (
        time_machine.travel(T0 + timedelta(seconds=61), tick=False),
        CaptureQueriesContext(connection) as queries,
    ):
        client.get("/api/v1/business/", **auth)
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 1


def test_the_lookup_column_is_indexed() -> None:
    field = ApiKey._meta.get_field("lookup")
    assert field.db_index  # type: ignore[attr-defined]


def test_a_revoked_key_fails_on_the_very_next_request(
    client: DjangoClient, business: Business
) -> None:
    key, raw = api_key_create(tenant=business, name="gone", role=ApiKeyRole.ADMIN)
    auth: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert client.get("/api/v1/business/", **auth).status_code == 200
    with scope(tenant=business):
        api_key_revoke(api_key=key)
    response = client.get("/api/v1/business/", **auth)
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


@pytest.mark.parametrize("role", list(ApiKeyRole))
def test_a_key_is_shown_once_and_stored_hashed(business: Business, role: str) -> None:
    key, raw = api_key_create(tenant=business, name="r", role=role)
    with scope(tenant=business):
        stored = ApiKey.objects.get(pk=key.pk)
    assert stored.role == role
    assert raw not in stored.key_hash and stored.key_hash == ApiKey.hash_key(raw)
    assert raw.split("_", 2)[2] not in str(stored.__dict__)
