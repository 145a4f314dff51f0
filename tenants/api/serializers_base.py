"""Shared serializer plumbing."""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from rest_framework import serializers


class CachedFieldsMixin:
    """Build a ModelSerializer's fields once per class instead of on every response.

    DRF introspects the model for every serializer instance (~0.5 ms for an appointment);
    the fields depend only on the class, so each instance gets a deep copy of the first build
    (the same thing DRF does with declared fields). Only for serializers whose fields do not
    depend on the context or the instance.
    """

    _fields_cache: ClassVar[dict[type, dict[str, Any]]] = {}

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        key = type(self)
        if key not in CachedFieldsMixin._fields_cache:
            CachedFieldsMixin._fields_cache[key] = super().get_fields()  # type: ignore[misc]
        return copy.deepcopy(CachedFieldsMixin._fields_cache[key])
