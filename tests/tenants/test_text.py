"""Free text without control characters: every form refuses them, raw reasons lose them."""

from __future__ import annotations

import importlib

import pytest
from django import forms
from django.conf import settings

from tenants.text import NoControlCharactersMixin, plain_text

# Django's own login form, subclassed for the email label: a password is not text we store.
NOT_FREE_TEXT = {"tenants.forms.EmailAuthenticationForm"}


APPS = {
    "appointments",
    "clients",
    "hooks",
    "policies",
    "reminders",
    "reports",
    "selfservice",
    "tenants",
}


def _project_forms() -> list[type[forms.Form]]:
    """Every Form class of the project's apps (the URLconf imports every view, and the views
    their forms)."""
    importlib.import_module(settings.ROOT_URLCONF)
    found: list[type[forms.Form]] = []
    stack: list[type] = [forms.Form]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] in APPS:
            found.append(cls)
    return found


def test_every_form_of_the_project_refuses_control_characters() -> None:
    found = _project_forms()
    assert len(found) > 15  # the walk found the forms
    missing = [
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in found
        if not issubclass(cls, NoControlCharactersMixin)
        and f"{cls.__module__}.{cls.__qualname__}" not in NOT_FREE_TEXT
    ]
    assert missing == []


def test_a_form_names_the_field_with_control_characters() -> None:
    class Note(NoControlCharactersMixin, forms.Form):
        title = forms.CharField()
        body = forms.CharField(required=False)
        count = forms.IntegerField(required=False)

    form = Note(data={"title": "Hola\x07", "body": "two\nlines\tand a tab\r\n", "count": "3"})
    assert not form.is_valid()
    assert list(form.errors) == ["title"]
    assert form.errors["title"] == ["Remove the control characters from this text."]
    assert Note(data={"title": "Hola", "body": "two\nlines\tand a tab"}).is_valid()


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("Llega tarde\x0b (avisó)", "Llega tarde (avisó)"),
        ("línea 1\nlínea 2\ttab\r\n", "línea 1\nlínea 2\ttab\r\n"),
        ("\x00\x1b[31mrojo\x7f\x85", "[31mrojo"),
    ],
)
def test_plain_text_drops_control_characters_and_keeps_lines(typed: str, kept: str) -> None:
    assert plain_text(typed) == kept
