"""Timing helpers and the one-JSON-object-per-line output."""

from __future__ import annotations

import json
import statistics
import sys
from typing import Any


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def summary(durations: list[float]) -> dict[str, Any]:
    """n, median, p95, min and max in milliseconds of `durations` (seconds)."""
    if not durations:
        return {"n": 0, "median_ms": None}
    ordered = sorted(durations)
    return {
        "n": len(ordered),
        "median_ms": ms(statistics.median(ordered)),
        "p95_ms": ms(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]),
        "min_ms": ms(ordered[0]),
        "max_ms": ms(ordered[-1]),
    }


def emit(result: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(result, default=str) + "\n")
    sys.stdout.flush()
