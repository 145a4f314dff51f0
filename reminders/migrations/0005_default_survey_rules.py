"""Every existing business gets the post-visit survey as a rule, so that nothing changes for
it on deploy: until now the survey went to every business, 2 h after an attended visit
(SELFSERVICE_SURVEY_DELAY_MINUTES), by SMS, else email. New businesses get it with their
other default rules (`reminder_rules_create_defaults`)."""

from __future__ import annotations

import os
from typing import Any

from django.db import migrations

# Businesses written per statement: a few round trips however many there are.
BATCH_SIZE = 500


def survey_rule_name(minutes: int) -> str:
    amount = f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"
    return f"Post-visit survey, {amount} after"


def create_default_survey_rules(apps: Any, schema_editor: Any) -> None:
    """One active survey rule for each business that has no survey rule (active or not)."""
    business_model = apps.get_model("tenants", "Business")
    rule_model = apps.get_model("reminders", "ReminderRule")
    # The setting this rule replaces, where a deployment had changed it.
    minutes = int(os.environ.get("SELFSERVICE_SURVEY_DELAY_MINUTES") or 120)
    name = survey_rule_name(minutes)
    surveyed = rule_model.objects.filter(purpose="survey").values("tenant_id")
    ids = list(
        business_model.objects.exclude(pk__in=surveyed).order_by("pk").values_list("pk", flat=True)
    )
    for first in range(0, len(ids), BATCH_SIZE):
        batch = ids[first : first + BATCH_SIZE]
        taken = set(
            rule_model.objects.filter(tenant_id__in=batch, name__startswith=name).values_list(
                "tenant_id", "name"
            )
        )
        rules = []
        for business_id in batch:
            unique, n = name, 1
            while (business_id, unique) in taken:  # a rule of its own already has the name
                n += 1
                unique = f"{name} ({n})"
            rules.append(
                rule_model(
                    tenant_id=business_id,
                    name=unique,
                    purpose="survey",
                    channel="sms_then_email",
                    offset_minutes=minutes,
                    only_if_unconfirmed=False,
                    is_active=True,
                    texts={},
                )
            )
        rule_model.objects.bulk_create(rules)


def delete_survey_rules(apps: Any, schema_editor: Any) -> None:
    # Before this migration a "survey" rule would be planned as a reminder: none may stay.
    apps.get_model("reminders", "ReminderRule").objects.filter(purpose="survey").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reminders", "0004_survey_rules"),
        ("tenants", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_default_survey_rules, delete_survey_rules)]
