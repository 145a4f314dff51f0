"""Reminder rules, with their texts per language and a live preview of what they send.

The preview is the reminders app's own (`reminder_rule_preview`, as the dispatcher renders):
a "Preview" button posts the form and gets the page back with the preview and nothing saved;
with JavaScript, the same POST asks for the preview alone and it follows the typing.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from reminders.models import Purpose, ReminderRule
from reminders.services.rules import (
    RulePreview,
    reminder_rule_create,
    reminder_rule_delete,
    reminder_rule_preview,
    reminder_rule_update,
)
from tenants.forms.base import add_service_errors
from tenants.forms.reminders import OFFSET_LABELS, ReminderRuleForm, offset_in_unit
from tenants.settings_views.common import (
    admin_only,
    owned,
    posted,
    render_settings,
    tenant_of,
)

# The header the page's script sends to get the preview alone.
PARTIAL_HEADER = "X-Puntual-Partial"


@admin_only
def rule_list(request: HttpRequest) -> HttpResponse:
    rules = [
        (rule, *offset_in_unit(rule.offset_minutes))
        for rule in ReminderRule.objects.filter(tenant=tenant_of(request))
    ]
    return render_settings(
        request, "settings/reminders.html", {"rules": rules}, section="reminders"
    )


def _preview(form: ReminderRuleForm) -> RulePreview | None:
    """The preview of the rule as written, when its texts can be rendered."""
    data: dict[str, Any] = getattr(form, "cleaned_data", {})
    text_errors = any(name.startswith("texts_") for name in form.errors)
    if text_errors or not {"purpose", "channel"} <= set(data):
        return None
    draft = ReminderRule(
        tenant=form.tenant,
        purpose=data["purpose"],
        channel=data["channel"],
        offset_minutes=data.get("offset_minutes") or 60,
        only_if_unconfirmed=data.get("only_if_unconfirmed", False),
        texts=data.get("texts", {}),
    )
    return reminder_rule_preview(
        tenant=form.tenant, rule=draft, language=data.get("preview_language") or ""
    )


def _rule_page(request: HttpRequest, rule: ReminderRule | None) -> HttpResponse:
    tenant = tenant_of(request)
    initial = ReminderRuleForm.initial_for(rule) if rule else {"is_active": True}
    form = ReminderRuleForm(posted(request), initial=initial, tenant=tenant)
    wants_preview = request.POST.get("action") == "preview"
    preview = None
    if request.method == "POST":
        valid = form.is_valid()
        if wants_preview:
            preview = _preview(form)
            if request.headers.get(PARTIAL_HEADER):
                return render(
                    request, "settings/_rule_preview.html", {"form": form, "preview": preview}
                )
        elif valid:
            try:
                if rule is None:
                    reminder_rule_create(tenant=tenant, **form.rule_values())
                    messages.success(request, _("The reminder rule is added."))
                else:
                    reminder_rule_update(rule=rule, **form.rule_values())
                    messages.success(request, _("The reminder rule is saved."))
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                return redirect("settings:reminders")
    elif rule is not None:
        preview = reminder_rule_preview(tenant=tenant, rule=rule, language=tenant.language)
    failed = bool(form.errors) and not wants_preview
    return render_settings(
        request,
        "settings/rule_form.html",
        {
            "form": form,
            "rule": rule,
            "preview": preview,
            "partial_header": PARTIAL_HEADER,
            # For the script that switches the offset's label with the purpose.
            "survey_purpose": Purpose.SURVEY.value,
            "offset_labels": OFFSET_LABELS,
        },
        section="reminders",
        status=400 if failed else 200,
    )


@admin_only
def rule_new(request: HttpRequest) -> HttpResponse:
    return _rule_page(request, None)


@admin_only
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _rule_page(request, owned(request, ReminderRule, pk))


@admin_only
@require_POST
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = owned(request, ReminderRule, pk)
    reminder_rule_delete(rule=rule)
    messages.success(request, _("The reminder rule “%(name)s” is deleted.") % {"name": rule.name})
    return redirect("settings:reminders")
