"""Settings > Webhooks (included in tenants/urls_settings.py, in its "settings" namespace)."""

from django.urls import path

from hooks import views

urlpatterns = [
    path("webhooks/", views.endpoint_list, name="webhooks"),
    path("webhooks/new/", views.endpoint_new, name="webhook_new"),
    path("webhooks/<int:pk>/", views.endpoint_edit, name="webhook_edit"),
    path("webhooks/<int:pk>/rotate-secret/", views.endpoint_rotate, name="webhook_rotate"),
    path("webhooks/<int:pk>/delete/", views.endpoint_remove, name="webhook_delete"),
    path("webhooks/<int:pk>/test/", views.endpoint_test, name="webhook_test"),
    path("webhooks/<int:pk>/deliveries/", views.endpoint_log, name="webhook_log"),
]
