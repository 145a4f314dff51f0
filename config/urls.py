from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.views import healthz
from tenants.api.views import CurrentBusinessView
from tenants.forms import EmailAuthenticationForm
from tenants.views import switch_business

api_v1 = [
    path("business/", CurrentBusinessView.as_view(), name="business"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
]

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
    path("dashboard/", include(("appointments.urls", "dashboard"))),
    path("api/v1/", include((api_v1, "api"))),
    path("admin/", admin.site.urls),
]
