from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Businesses"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from tenants import checks  # noqa: F401  (registers the tenancy system check)
        from tenants.api import schema  # noqa: F401  (documents API key auth in OpenAPI)
        from tenants.security import session_clock_start

        # Django's own hook at login (as for last_login): the session's clocks start there,
        # in the session login() saves anyway, not with an extra write on the next request.
        user_logged_in.connect(session_clock_start, dispatch_uid="puntual_session_clock")
