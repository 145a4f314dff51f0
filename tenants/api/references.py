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
        queryset = self.get_queryset()
        assert queryset is not None  # noqa: S101 - every field here is given a queryset
        model = queryset.model
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


def rows_by_id(*, tenant_id: int, wanted: dict[str, PendingReference]) -> dict[str, Any]:
    """{name: the tenant's row with that id, or None}, loaded with one query.

    Each model must have a `tenant` foreign key. Values go through the same converters the ORM
    applies, so the instances are the ones `Model.objects.get()` would return.
    """
    selects: list[str] = []
    joins: list[str] = []
    params: list[Any] = []
    layout: list[tuple[str, type[Model], list[Any], list[list[Any]]]] = []
    quote = connection.ops.quote_name
    for index, (name, reference) in enumerate(wanted.items()):
        alias = f"r{index}"
        opts = reference.model._meta
        fields = list(opts.concrete_fields)
        cols = [field.get_col(alias) for field in fields]
        converters = [
            connection.ops.get_db_converters(col) + col.get_db_converters(connection)
            for col in cols
        ]
        # Only names from the models' own metadata go into the SQL; the ids are parameters.
        selects.extend(f"{alias}.{quote(str(col.target.column))}" for col in cols)
        tenant_column = opts.get_field("tenant").column  # type: ignore[union-attr]
        joins.append(
            f"LEFT JOIN {quote(opts.db_table)} {alias}"
            f" ON {alias}.{quote(str(opts.pk.column))} = %s"
            f" AND {alias}.{quote(str(tenant_column))} = %s"
        )
        params.extend([reference.pk, tenant_id])
        layout.append((name, reference.model, cols, converters))
    sql = f"SELECT {', '.join(selects)} FROM (SELECT 1 AS one) base {' '.join(joins)}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    assert row is not None  # noqa: S101 - the base row always exists
    result: dict[str, Any] = {}
    position = 0
    for name, model, cols, converters in layout:
        values = list(row[position : position + len(cols)])
        position += len(cols)
        if values[[c.target for c in cols].index(model._meta.pk)] is None:
            result[name] = None
            continue
        for i, (col, field_converters) in enumerate(zip(cols, converters, strict=True)):
            for converter in field_converters:
                values[i] = converter(values[i], col, connection)
        result[name] = model.from_db(connection.alias, [col.target.attname for col in cols], values)
    return result
