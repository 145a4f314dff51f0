"""The API's strict text field: JSON strings only, no control characters, lines allowed."""

from __future__ import annotations

from typing import Any, cast

import pytest
from rest_framework import serializers

from tenants.api.fields import StrictCharField


@pytest.mark.parametrize(
    "text", ["Plain", "Two\nlines", "Tab\tseparated", "CRLF\r\nend", "Ñandú ✓"]
)
def test_it_keeps_text_people_type(text: str) -> None:
    assert StrictCharField(trim_whitespace=False).run_validation(text) == text


@pytest.mark.parametrize(
    "text", ["\x00", "bell\x07", "esc\x1b[2J", "del\x7f", "c1\x85", "vertical\x0btab"]
)
def test_it_refuses_control_characters(text: str) -> None:
    with pytest.raises(serializers.ValidationError) as refused:
        StrictCharField().run_validation(text)
    details = cast(list[dict[str, Any]], refused.value.get_full_details())
    codes = {str(item["code"]) for item in details}
    assert codes & {"control_characters", "null_characters_not_allowed"}


@pytest.mark.parametrize("value", [0, 1.5, True, ["x"], {"a": 1}])
def test_it_refuses_what_is_not_a_string(value: Any) -> None:
    with pytest.raises(serializers.ValidationError):
        StrictCharField().run_validation(value)


def test_it_refuses_text_over_its_length() -> None:
    with pytest.raises(serializers.ValidationError):
        StrictCharField(max_length=3).run_validation("four")
