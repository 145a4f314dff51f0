"""A system check: every tenant-owned model is structurally scoped to its business.

It runs with `manage.py check` (and so in CI and at every start) and fails when a model of
Puntual's apps lacks a required `tenant` foreign key, lacks the scoped default manager, or
has a uniqueness rule that does not include the tenant. Global models are listed here, each
with the reason it is global.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core import checks
from django.db import models
from django_scopes import scope
from django_scopes.manager import DisabledQuerySet

PUNTUAL_APPS = frozenset(
    {
        "tenants",
        "clients",
        "appointments",
        "reminders",
        "policies",
        "reports",
        "selfservice",
        "hooks",
    }
)

GLOBAL_MODELS: dict[str, str] = {
    "tenants.User": "one person may work for several businesses",
    "tenants.Business": "the tenant itself",
}


def tenancy_problems(model: type[models.Model]) -> list[str]:
    """What makes `model` unsafe as a tenant-owned model (an empty list when it is fine)."""
    label = model._meta.label
    if label in GLOBAL_MODELS or model._meta.abstract or model._meta.proxy:
        return []
    if model._meta.auto_created:
        # A many-to-many table Django made: fine between global models (a user's groups),
        # but between tenant-owned ones it has no tenant column: declare a `through` model.
        targets = {
            f.related_model._meta.label
            for f in model._meta.fields
            if f.is_relation and f.related_model is not None
        }
        if targets <= set(GLOBAL_MODELS) | {"auth.Group", "auth.Permission"}:
            return []
        return [
            f"{label} is an auto-created many-to-many table without a tenant; use an explicit through model."
        ]
    problems: list[str] = []

    try:
        field: Any = model._meta.get_field("tenant")
    except Exception:  # FieldDoesNotExist
        return [f"{label} has no `tenant` foreign key (derive it from TenantOwnedModel)."]
    if not (
        field.is_relation
        and field.related_model is not None
        and field.related_model._meta.label == "tenants.Business"
    ):
        problems.append(f"{label}.tenant is not a foreign key to tenants.Business.")
    if field.null:
        problems.append(f"{label}.tenant may be null; it must be required.")

    with scope():  # a scope with no tenant: a scoped manager must refuse to query
        queryset = model._default_manager.get_queryset()
    if not isinstance(queryset, DisabledQuerySet):
        problems.append(f"{label}'s default manager is not scoped by tenant (ScopedManager).")

    # Uniqueness is per business when it includes the tenant, or a foreign key to another
    # business-owned row (one appointment's survey, one endpoint's deliveries): that row
    # belongs to one business, so no value can collide with, or reveal, another business's.
    pinned = {"tenant", "tenant_id"} | {
        name
        for f in model._meta.local_fields
        if f.is_relation and _tenant_owned(f.related_model)
        for name in (f.name, f.attname)
    }
    for f in model._meta.local_fields:
        if f.unique and not f.primary_key and f.name not in pinned:
            problems.append(
                f"{label}.{f.name} is unique across businesses; make it unique per tenant."
            )
    for together in model._meta.unique_together:
        if not pinned & set(together):
            problems.append(f"{label} unique_together {together} does not include the tenant.")
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and not pinned & set(constraint.fields):
            problems.append(f"{label} constraint {constraint.name} does not include the tenant.")
    return problems


def _tenant_owned(model: Any) -> bool:
    if model is None or isinstance(model, str):
        return False
    try:
        field = model._meta.get_field("tenant")
    except Exception:  # FieldDoesNotExist: a global model
        return False
    return bool(field.is_relation and field.related_model._meta.label == "tenants.Business")


@checks.register(checks.Tags.models)
def check_tenancy(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for model in apps.get_models(include_auto_created=True):
        if model._meta.app_label not in PUNTUAL_APPS:
            continue
        for problem in tenancy_problems(model):
            errors.append(checks.Error(problem, obj=model, id="puntual.E001"))
    return errors
