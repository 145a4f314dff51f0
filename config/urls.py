from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from config.views import healthz
from reminders.webhook_urls import email_urlpatterns, shared_twilio_urlpatterns
from tenants.forms import EmailAuthenticationForm
from tenants.views import switch_business

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="dashboard:home", permanent=False), name="root"),
    path("healthz", healthz, name="healthz"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            authentication_form=EmailAuthenticationForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("switch-business/", switch_business, name="switch_business"),
    path("dashboard/", include(("selfservice.dashboard_urls", "selfservice_dashboard"))),
    # A client's personal data (admins): export and erasure, beside the dashboard's client page.
    path("dashboard/clients/", include(("clients.urls", "clients"))),
    path("dashboard/", include(("appointments.urls", "dashboard"))),
    path("settings/", include("tenants.urls_settings")),
    path("reports/", include(("reports.urls", "reports"))),
    path("api/v1/", include(("config.api_urls", "api"))),
    # Providers' webhooks: email tracking and replies to a shared number (global), then
    # Twilio's, per business.
    path("webhooks/anymail/", include((email_urlpatterns, "anymail"))),
    path("webhooks/twilio/", include((shared_twilio_urlpatterns, "shared_webhooks"))),
    path("webhooks/<slug:business_slug>/", include(("reminders.webhook_urls", "webhooks"))),
    path("admin/", admin.site.urls),
    # Clients' pages, by business: last, so that no business slug can shadow a route above.
    # Self-service first: its paths (book/, waitlist/..., survey/...) never overlap a/<token>/.
    path("<slug:business_slug>/", include(("selfservice.public_urls", "selfservice"))),
    path("<slug:business_slug>/", include(("reminders.public_urls", "public"))),
]

# Unmatched URLs under /api/ answer in the API's error shape (JSON), the rest with the HTML page.
handler404 = "config.views.not_found"
