"""Model instances from one hand-written SELECT, for the few hot paths where building a query
with the ORM costs more than running it (the reminder worker loads the same shape of rows for
every message it sends).

The columns are the models' concrete fields, read from their _meta: a new field is selected
without touching the SQL. Values go through the same converters the ORM applies (JSON, decimals,
SQLite's dates...), and the instances are made by `Model.from_db`, as the ORM makes them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections
from django.db.models import Model

Converter = Callable[[Any, Any, Any], Any]


def select_list(model: type[Model], alias: str) -> str:
    """`alias.column, ...` for every concrete field of `model`, in _meta order."""
    quote = connections["default"].ops.quote_name
    return ", ".join(f"{alias}.{quote(str(field.column))}" for field in model._meta.concrete_fields)


def column_count(model: type[Model]) -> int:
    return len(model._meta.concrete_fields)


def _converters(model: type[Model], using: str) -> list[tuple[list[Converter], Any]]:
    connection = connections[using]
    found = []
    for field in model._meta.concrete_fields:
        column = field.get_col(model._meta.db_table)
        found.append(
            (
                connection.ops.get_db_converters(column) + column.get_db_converters(connection),
                column,
            )
        )
    return found


_cache: dict[tuple[type[Model], str], tuple[list[str], list[tuple[list[Converter], Any]]]] = {}


def instances(
    row: Sequence[Any], models: Sequence[type[Model]], *, using: str = "default"
) -> list[Model]:
    """One instance per model from a row of `select_list(model, ...)` columns, in that order."""
    connection = connections[using]
    made: list[Model] = []
    offset = 0
    for model in models:
        key = (model, connection.vendor)
        if key not in _cache:
            _cache[key] = (
                [field.attname for field in model._meta.concrete_fields],
                _converters(model, using),
            )
        names, converters = _cache[key]
        values = list(row[offset : offset + len(names)])
        for index, (functions, column) in enumerate(converters):
            for function in functions:
                values[index] = function(values[index], column, connection)
        made.append(model.from_db(using, names, values))
        offset += len(names)
    return made


def insert(objs: Sequence[Model], *, using: str = "default") -> None:
    """INSERT new instances of one model with one hand-written statement, as `bulk_create`
    would: the same values (each field's `pre_save` and `get_db_prep_save`, so auto_now and
    JSON are handled), the primary keys read back with RETURNING, and the instances marked
    saved. For the booking's three inserts, where the ORM took longer to build the statement
    than the database took to run it. No signals are sent (as with bulk_create).
    """
    if not objs:
        return
    model = type(objs[0])
    if any(type(obj) is not model for obj in objs):
        raise TypeError("rows.insert takes instances of one model.")
    connection = connections[using]
    opts = model._meta
    pk = opts.pk
    assert pk is not None  # noqa: S101 - every concrete model has one
    fields = [field for field in opts.concrete_fields if field is not pk]
    if any(hasattr(field, "get_placeholder") for field in fields):
        raise TypeError(f"{model.__name__} has a field with its own SQL placeholder.")
    params: list[Any] = []
    for obj in objs:
        if obj.pk is not None:
            raise ValueError("rows.insert takes new instances only.")
        # As bulk_create: a related object assigned before it was saved gives its id now.
        obj._prepare_related_fields_for_save(operation_name="rows.insert")  # type: ignore[attr-defined]
        params.extend(
            field.get_db_prep_save(field.pre_save(obj, True), connection=connection)
            for field in fields
        )
    quote = connection.ops.quote_name
    row = f"({', '.join(['%s'] * len(fields))})"
    sql = (
        f"INSERT INTO {quote(opts.db_table)} ({', '.join(quote(str(f.column)) for f in fields)})"  # noqa: S608 - _meta names only
        f" VALUES {', '.join([row] * len(objs))} RETURNING {quote(str(pk.column))}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = cursor.fetchall()
    for obj, (new_id,) in zip(objs, ids, strict=True):
        obj.pk = new_id
        obj._state.adding = False
        obj._state.db = using
