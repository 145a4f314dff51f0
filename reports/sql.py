"""SQL building blocks the report needs on both PostgreSQL and SQLite (tests, `make run`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from django.db.models import Aggregate, Expression, FloatField, Func


class SecondsBetween(Func):
    """`later - earlier` in seconds, as a float (NULL when either is NULL)."""

    arity = 2
    output_field = FloatField()

    def as_sql(
        self,
        compiler: Any,
        connection: Any,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra: Any,
    ) -> Any:  # PostgreSQL
        return super().as_sql(
            compiler,
            connection,
            template="EXTRACT(EPOCH FROM (%(expressions)s))::double precision",
            arg_joiner=" - ",
            **extra,
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Django stores SQLite datetimes as UTC text that julianday() reads.
        return super().as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s)) * 86400.0)",
            arg_joiner=") - julianday(",
            **extra,
        )


class Percentile90(Aggregate):
    """PostgreSQL's continuous 90th percentile. SQLite has no ordered-set aggregates: the
    report reads the values instead and calls `percentile_cont` (`supported(connection)`)."""

    function = "percentile_cont"
    name = "Percentile90"
    output_field = FloatField()
    template = "percentile_cont(0.9) WITHIN GROUP (ORDER BY %(expressions)s)"
    allow_distinct = False

    def __init__(self, expression: Expression, **extra: Any) -> None:
        super().__init__(expression, **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        raise NotImplementedError("SQLite has no percentile_cont: use the Python fallback.")

    @staticmethod
    def supported(connection: Any) -> bool:
        return bool(connection.vendor == "postgresql")


def percentile_cont(values: Sequence[float], fraction: float) -> float | None:
    """PostgreSQL's `percentile_cont`: linear interpolation between the closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low = math.floor(rank)
    high = math.ceil(rank)
    if low == high:
        return float(ordered[low])
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))
