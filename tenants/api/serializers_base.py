"""Shared serializer plumbing."""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from rest_framework import serializers


class CachedFieldsMixin:
    """Build a serializer's fields once per class instead of on every request or response.

    DRF introspects the model for every serializer instance (~0.5 ms for an appointment), then
    deep-copies every field, which re-runs each field's __init__ (a choice field rebuilds its
    choices). The fields depend only on the class, so the first build is kept as a template
    and each instance gets its own copies: nested serializers deep (each has fields and a
    child of its own to bind), plain fields shallow. A shallow copy has its own attributes,
    which is all `bind()` sets (name, parent, source); what it shares with the template
    (choices, validators, error messages) is only read, validating included (a field keeps
    no state of a validation; what it caches, such as its validator list, it sets on itself).
    The template itself is never bound. Only for serializers whose fields do not depend on
    the context or the instance.
    """

    _fields_cache: ClassVar[dict[type, dict[str, Any]]] = {}

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        key = type(self)
        template = CachedFieldsMixin._fields_cache.get(key)
        if template is None:
            template = CachedFieldsMixin._fields_cache[key] = super().get_fields()  # type: ignore[misc]
        return {
            name: copy.deepcopy(field)
            if isinstance(field, serializers.BaseSerializer)
            else copy.copy(field)
            for name, field in template.items()
        }
