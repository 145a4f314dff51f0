from __future__ import annotations

import os
import uuid

import pytest


@pytest.fixture
def address() -> str:
    """A client address no other test (nor an earlier run) used: the counters may live in a
    shared Redis, for as long as their window (up to 15 minutes of real time)."""
    return f"fd00:{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}::{uuid.uuid4().hex[:4]}"


@pytest.fixture(params=["memory", "redis"])
def counters(request: pytest.FixtureRequest, settings: pytest.FixtureRequest) -> str:
    """Each rate limit test runs with counters in this process and in Redis (CI has Redis)."""
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if request.param == "memory":
        settings.PUNTUAL_RATE_LIMIT_REDIS_URL = ""  # type: ignore[attr-defined]
    else:
        if not broker.startswith(("redis://", "rediss://")):
            pytest.skip("needs Redis (set CELERY_BROKER_URL=redis://...); CI always runs it")
        settings.PUNTUAL_RATE_LIMIT_REDIS_URL = broker  # type: ignore[attr-defined]
    return str(request.param)


@pytest.fixture
def redis_counters(settings: pytest.FixtureRequest) -> str:
    """Counters in Redis only (CI has Redis)."""
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith(("redis://", "rediss://")):
        pytest.skip("needs Redis (set CELERY_BROKER_URL=redis://...); CI always runs it")
    settings.PUNTUAL_RATE_LIMIT_REDIS_URL = broker  # type: ignore[attr-defined]
    return broker
