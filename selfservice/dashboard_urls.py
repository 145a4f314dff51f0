"""Self-service pages of the dashboard, under /dashboard/ (before the appointments' routes)."""

from django.urls import path

from selfservice import dashboard_views

urlpatterns = [
    path("waitlist/", dashboard_views.waitlist_page, name="waitlist"),
    path("waitlist/<int:pk>/remove/", dashboard_views.waitlist_remove_view, name="waitlist_remove"),
    path("surveys/", dashboard_views.surveys_page, name="surveys"),
]
