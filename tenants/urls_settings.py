"""/settings/: the admin's pages (owners and admins of the active business)."""

from django.urls import path

from hooks.urls_settings import urlpatterns as webhook_urls
from tenants.settings_views import business, policies, reminders, scheduling, team

app_name = "settings"

urlpatterns = [
    path("", business.profile, name="profile"),
    path("locations/", business.location_list, name="locations"),
    path("locations/new/", business.location_new, name="location_new"),
    path("locations/<int:pk>/", business.location_edit, name="location_edit"),
    path("staff/", scheduling.staff_list, name="staff"),
    path("staff/new/", scheduling.staff_new, name="staff_new"),
    path("staff/<int:pk>/", scheduling.staff_edit, name="staff_edit"),
    path("staff/<int:pk>/hours/", scheduling.staff_hours, name="staff_hours"),
    path("staff/<int:pk>/time-off/", scheduling.staff_time_off, name="staff_time_off"),
    path("time-off/<int:pk>/delete/", scheduling.time_off_remove, name="time_off_delete"),
    path("services/", scheduling.service_list, name="services"),
    path("services/new/", scheduling.service_new, name="service_new"),
    path("services/<int:pk>/", scheduling.service_edit, name="service_edit"),
    path("booking-rules/", business.booking_rules, name="booking_rules"),
    path("reminders/", reminders.rule_list, name="reminders"),
    path("reminders/new/", reminders.rule_new, name="rule_new"),
    path("reminders/<int:pk>/", reminders.rule_edit, name="rule_edit"),
    path("reminders/<int:pk>/delete/", reminders.rule_delete, name="rule_delete"),
    path("policies/", policies.policy_list, name="policies"),
    path("policies/new/", policies.policy_new, name="policy_new"),
    path("policies/<int:pk>/", policies.policy_edit, name="policy_edit"),
    path("team/", team.team, name="team"),
    path("team/invite/", team.team_invite, name="team_invite"),
    path("team/<int:pk>/role/", team.team_role, name="team_role"),
    path("team/<int:pk>/deactivate/", team.team_deactivate, name="team_deactivate"),
    path("team/<int:pk>/reactivate/", team.team_reactivate, name="team_reactivate"),
    path("api-keys/", team.api_keys, name="api_keys"),
    path("api-keys/new/", team.api_key_new, name="api_key_new"),
    path("api-keys/<int:pk>/revoke/", team.api_key_revoke_view, name="api_key_revoke"),
    *webhook_urls,
]
