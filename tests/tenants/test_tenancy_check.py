"""Every tenant-owned model is structurally scoped; the check catches a model that is not."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.core import checks
from django.db import models
from django.test.utils import isolate_apps
from django_scopes import scope, scopes_disabled
from django_scopes.exceptions import ScopeError

from appointments.models import Appointment
from tenants.checks import GLOBAL_MODELS, PUNTUAL_APPS, check_tenancy, tenancy_problems
from tenants.models import Business, TenantOwnedModel
from tests.factories import BusinessFactory, ClientFactory


def test_every_installed_model_of_puntual_is_tenant_scoped_or_declared_global() -> None:
    assert check_tenancy() == []


@isolate_apps("tenants")
def test_it_catches_an_auto_created_many_to_many_table_between_tenant_models() -> None:
    class Room(TenantOwnedModel):
        class Meta:
            app_label = "tenants"

    class Tool(TenantOwnedModel):
        rooms = models.ManyToManyField(Room)

        class Meta:
            app_label = "tenants"

    through = Tool.rooms.through
    assert tenancy_problems(through) == [
        "tenants.Tool_rooms is an auto-created many-to-many table without a tenant; use an explicit through model."
    ]


def test_auto_created_tables_between_global_models_are_fine() -> None:
    through_models = [
        m
        for m in apps.get_models(include_auto_created=True)
        if m._meta.app_label in PUNTUAL_APPS and m._meta.auto_created
    ]
    assert {m._meta.label for m in through_models} == {
        "tenants.User_groups",
        "tenants.User_user_permissions",
    }
    assert all(tenancy_problems(m) == [] for m in through_models)


def test_global_models_are_exactly_the_user_and_the_business() -> None:
    assert set(GLOBAL_MODELS) == {"tenants.User", "tenants.Business"}


@isolate_apps("tenants")
def test_it_catches_a_model_without_a_tenant() -> None:
    class Note(models.Model):
        text = models.TextField()

        class Meta:
            app_label = "tenants"

    assert tenancy_problems(Note) == [
        "tenants.Note has no `tenant` foreign key (derive it from TenantOwnedModel)."
    ]


@isolate_apps("tenants")
def test_it_catches_a_nullable_tenant_and_an_unscoped_manager() -> None:
    class Loose(models.Model):
        tenant = models.ForeignKey(Business, null=True, on_delete=models.CASCADE, related_name="+")

        class Meta:
            app_label = "tenants"

    problems = tenancy_problems(Loose)
    assert any("may be null" in p for p in problems)
    assert any("not scoped" in p for p in problems)


@isolate_apps("tenants")
def test_it_catches_uniqueness_that_spans_businesses() -> None:
    class Coupon(TenantOwnedModel):
        code = models.CharField(max_length=10, unique=True)
        label = models.CharField(max_length=10)

        class Meta:
            app_label = "tenants"
            constraints = [models.UniqueConstraint(fields=["label"], name="coupon_label")]

    problems = tenancy_problems(Coupon)
    assert "tenants.Coupon.code is unique across businesses; make it unique per tenant." in problems
    assert "tenants.Coupon constraint coupon_label does not include the tenant." in problems


@isolate_apps("tenants")
def test_uniqueness_pinned_by_another_business_row_is_per_business() -> None:
    class Survey(TenantOwnedModel):
        appointment = models.OneToOneField(Appointment, on_delete=models.CASCADE)
        user = models.OneToOneField("tenants.User", on_delete=models.CASCADE)
        token = models.CharField(max_length=10)

        class Meta:
            app_label = "tenants"
            constraints = [
                models.UniqueConstraint(fields=["appointment", "token"], name="survey_token"),
                models.UniqueConstraint(fields=["user", "token"], name="survey_user_token"),
            ]

    problems = tenancy_problems(Survey)
    # An appointment belongs to one business: unique per appointment is unique per business.
    assert not any("appointment" in p or "survey_token " in p for p in problems), problems
    # A user is global (one person, several businesses): that uniqueness spans businesses.
    assert "tenants.Survey.user is unique across businesses; make it unique per tenant." in problems
    assert "tenants.Survey constraint survey_user_token does not include the tenant." in problems


@isolate_apps("tenants")
def test_a_correct_tenant_owned_model_has_no_problems() -> None:
    class Tag(TenantOwnedModel):
        name = models.CharField(max_length=10)

        class Meta:
            app_label = "tenants"
            constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="tag_name")]

    assert tenancy_problems(Tag) == []


def test_the_check_is_registered_with_django() -> None:
    assert check_tenancy in checks.registry.registry.get_checks()


@pytest.mark.django_db
def test_querying_a_tenant_owned_model_without_a_scope_fails_loudly() -> None:
    with pytest.raises(ScopeError):
        list(Appointment.objects.all())


@pytest.mark.django_db
def test_a_scope_shows_only_its_own_business_rows() -> None:
    ours, theirs = BusinessFactory(), BusinessFactory()
    mine = ClientFactory(tenant=ours)
    ClientFactory(tenant=theirs)
    with scope(tenant=ours):
        from clients.models import Client

        assert list(Client.objects.all()) == [mine]
    with scopes_disabled():
        assert Client.objects.count() == 2
