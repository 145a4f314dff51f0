from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Businesses"

    def ready(self) -> None:
        from tenants import checks  # noqa: F401  (registers the tenancy system check)
        from tenants.api import schema  # noqa: F401  (documents API key auth in OpenAPI)
