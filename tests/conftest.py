from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from django.db import connection
from django.test import Client as DjangoClient
from django_scopes import scope

from tenants.models import Business, Role
from tests.factories import BusinessFactory, MembershipFactory, UserFactory


def _broker_is_redis() -> bool:
    return os.environ.get("CELERY_BROKER_URL", "").startswith(("redis://", "rediss://"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In CI every test runs: a PostgreSQL-only test may not be skipped for want of PostgreSQL,
    nor a real-worker test for want of Redis. Elsewhere those are skipped with the reason."""
    if not os.environ.get("CI"):
        skip_worker = pytest.mark.skip(
            reason="needs a Redis broker (set CELERY_BROKER_URL=redis://...); CI always runs it"
        )
        if not _broker_is_redis():
            for item in items:
                if item.get_closest_marker("celery_worker"):
                    item.add_marker(skip_worker)
        return
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise pytest.UsageError(
            "CI must run the suite on PostgreSQL: set DATABASE_URL=postgres://..."
        )
    if not _broker_is_redis():
        raise pytest.UsageError(
            "CI must run the suite with a Redis broker: set CELERY_BROKER_URL=redis://..."
        )


@pytest.fixture(autouse=True)
def _skip_postgres_only_tests_on_sqlite(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL=postgres://...); CI always runs it")


@pytest.fixture
def business(db: None) -> Business:
    return BusinessFactory()


@pytest.fixture
def other_business(db: None) -> Business:
    return BusinessFactory()


@pytest.fixture
def in_business(business: Business) -> Iterator[Business]:
    """Run the test body inside the business's tenant scope."""
    with scope(tenant=business):
        yield business


def login_member(
    client: DjangoClient, business: Business, role: str = Role.OWNER, **user_kwargs: object
) -> DjangoClient:
    user = UserFactory(**user_kwargs)
    MembershipFactory(tenant=business, user=user, role=role)
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(client: DjangoClient, business: Business) -> DjangoClient:
    return login_member(client, business, Role.OWNER)
