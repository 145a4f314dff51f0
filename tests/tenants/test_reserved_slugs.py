"""A business's address can never be one of Puntual's own paths."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import URLPattern, URLResolver, get_resolver

from tenants.fields import RESERVED_SLUGS
from tenants.models import Business
from tenants.services import business_create


def _first_segments() -> set[str]:
    segments = set()
    for entry in get_resolver().url_patterns:
        assert isinstance(entry, URLPattern | URLResolver)
        route = str(entry.pattern)
        first = route.split("/")[0]
        if first and not first.startswith("<"):
            segments.add(first)
    return segments


def test_every_top_level_path_of_puntual_is_reserved() -> None:
    missing = _first_segments() - RESERVED_SLUGS
    assert not missing, f"add {sorted(missing)} to RESERVED_SLUGS"


@pytest.mark.django_db
@pytest.mark.parametrize("slug", ["dashboard", "reports", "API", "settings", "webhooks"])
def test_a_business_cannot_take_a_reserved_address(slug: str) -> None:
    with pytest.raises(ValidationError) as error:
        business_create(
            name="Clínica", slug=slug, timezone_name="Europe/Madrid", owner_email="a@b.es"
        )
    assert "slug" in error.value.message_dict
    assert not Business.objects.exists()


@pytest.mark.django_db
def test_an_ordinary_address_is_fine() -> None:
    business, _owner, _created = business_create(
        name="Clínica", slug="clinica-sol", timezone_name="Europe/Madrid", owner_email="a@b.es"
    )
    assert business.slug == "clinica-sol"
