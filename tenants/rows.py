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
