"""Resolve a request's references to the business's rows in one query instead of one each.

A booking names a service, a location, a staff member and a client by id. DRF's
PrimaryKeyRelatedField looks each one up with its own ORM query; on the busiest endpoint that
was a quarter of the request. `BatchedReferencesMixin` keeps the same fields, schema and error
messages, but checks only the type of each id while the fields validate, then loads every row
with one LEFT JOIN per table (a missing or foreign id comes back as NULLs, so it is still
reported on its own field).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection
from django.db.models import Model
from rest_framework import serializers

from tenants.middleware import tenant_of

# Ids beyond a bigint exist nowhere; asking the database would be an error, not a miss.
_MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class PendingReference:
    model: type[Model]
    pk: int


class BatchedPrimaryKeyField(serializers.PrimaryKeyRelatedField[Any]):
    """A PrimaryKeyRelatedField that defers its lookup to `BatchedReferencesMixin`."""

    def to_internal_value(self, data: Any) -> PendingReference:
        # The declared manager's model: get_queryset() would build a scoped queryset (a
        # filter on the tenant) only to read its model, four times per booking.
        declared: Any = vars(self).get("queryset")
        assert declared is not None  # noqa: S101 - every field here is given a queryset
        model: type[Model] = declared.model
        if isinstance(data, bool):
            self.fail("incorrect_type", data_type=type(data).__name__)
        try:
            pk = model._meta.pk.to_python(data)
        except (DjangoValidationError, TypeError, ValueError):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if not isinstance(pk, int):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if not 1 <= pk <= _MAX_ID:
            self.fail("does_not_exist", pk_value=data)
        return PendingReference(model, pk)


class BatchedReferencesMixin:
    """For a Serializer with BatchedPrimaryKeyFields: all their rows in one query."""

    def to_internal_value(self, data: Any) -> Any:
        attrs = super().to_internal_value(data)  # type: ignore[misc]
        wanted = {
            name: value for name, value in attrs.items() if isinstance(value, PendingReference)
        }
        if not wanted:
            return attrs
        tenant = tenant_of(self.context["request"])  # type: ignore[attr-defined]
        found = rows_by_id(tenant_id=tenant.pk, wanted=wanted)
        errors: dict[str, list[str]] = {}
        for name, reference in wanted.items():
            row = found[name]
            if row is None:
                field = self.fields[name]  # type: ignore[attr-defined]
                message = field.error_messages["does_not_exist"].format(pk_value=reference.pk)
                errors[name] = [message]
            attrs[name] = row
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


@dataclass(frozen=True)
class _Part:
    """One table of the query: where its columns sit in the row, and how to read them."""

    name: str
    model: type[Model]
    cols: list[Any]
    converters: list[list[Any]]
    attnames: list[str]
    pk_index: int


@dataclass(frozen=True)
class _Plan:
    sql: str
    parts: list[_Part]


# Built once per combination of names and models (and database vendor): the SQL text and
# each column's converters depend on nothing else.
_plans: dict[tuple[str, tuple[tuple[str, type[Model]], ...]], _Plan] = {}


def _plan(shape: tuple[tuple[str, type[Model]], ...]) -> _Plan:
    key = (connection.vendor, shape)
    plan = _plans.get(key)
    if plan is not None:
        return plan
    quote = connection.ops.quote_name
    selects: list[str] = []
    joins: list[str] = []
    parts: list[_Part] = []
    for index, (name, model) in enumerate(shape):
        alias = f"r{index}"
        opts = model._meta
        fields = list(opts.concrete_fields)
        cols = [field.get_col(alias) for field in fields]
        converters = [
            connection.ops.get_db_converters(col) + col.get_db_converters(connection)
            for col in cols
        ]
        # Only names from the models' own metadata go into the SQL; the ids are parameters.
        selects.extend(f"{alias}.{quote(str(field.column))}" for field in fields)
        tenant_column = opts.get_field("tenant").column  # type: ignore[union-attr]
        joins.append(
            f"LEFT JOIN {quote(opts.db_table)} {alias}"
            f" ON {alias}.{quote(str(opts.pk.column))} = %s"
            f" AND {alias}.{quote(str(tenant_column))} = %s"
        )
        parts.append(
            _Part(
                name=name,
                model=model,
                cols=cols,
                converters=converters,
                attnames=[field.attname for field in fields],
                pk_index=fields.index(opts.pk),
            )
        )
    sql = f"SELECT {', '.join(selects)} FROM (SELECT 1 AS one) base {' '.join(joins)}"  # noqa: S608
    plan = _plans[key] = _Plan(sql=sql, parts=parts)
    return plan


def rows_by_id(*, tenant_id: int, wanted: dict[str, PendingReference]) -> dict[str, Any]:
    """{name: the tenant's row with that id, or None}, loaded with one query.

    Each model must have a `tenant` foreign key. Values go through the same converters the ORM
    applies, so the instances are the ones `Model.objects.get()` would return.
    """
    plan = _plan(tuple((name, reference.model) for name, reference in wanted.items()))
    params: list[Any] = []
    for reference in wanted.values():
        params.extend([reference.pk, tenant_id])
    with connection.cursor() as cursor:
        cursor.execute(plan.sql, params)
        row = cursor.fetchone()
    assert row is not None  # noqa: S101 - the base row always exists
    result: dict[str, Any] = {}
    position = 0
    for part in plan.parts:
        values = list(row[position : position + len(part.cols)])
        position += len(part.cols)
        if values[part.pk_index] is None:
            result[part.name] = None
            continue
        for i, field_converters in enumerate(part.converters):
            for converter in field_converters:
                values[i] = converter(values[i], part.cols[i], connection)
        result[part.name] = part.model.from_db(connection.alias, part.attnames, values)
    return result
