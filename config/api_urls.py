"""`/api/v1/`: one router for every resource of the API."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny
from rest_framework.routers import SimpleRouter

from appointments.api.activity import (
    AppointmentNoteView,
    AppointmentRepliesView,
    AppointmentResendLinkView,
)
from appointments.api.rules import BookingRulesView
from appointments.api.views import (
    AppointmentViewSet,
    AvailabilityView,
    ServiceViewSet,
    StaffViewSet,
    TimeOffViewSet,
    WorkingHoursViewSet,
)
from clients.api.views import ClientViewSet
from hooks.api.views import WebhookDeliveryViewSet, WebhookEndpointViewSet
from policies.api.views import (
    ClientDepositFlagView,
    ClientLedgerView,
    PolicyViewSet,
    ReliabilityViewSet,
    appointment_keep_credit,
    appointment_payments,
    appointment_policy,
    appointment_waive_fee,
)
from reminders.api.views import InboxViewSet, ReminderRuleViewSet
from reports.api.views import ReportView
from selfservice.api.views import SurveyResultViewSet, WaitlistOfferViewSet, WaitlistViewSet
from tenants.api.team import ApiKeyViewSet, TeamMemberViewSet
from tenants.api.views import CurrentBusinessView, LocationViewSet

router = SimpleRouter(use_regex_path=False)
router.register("locations", LocationViewSet, basename="location")
router.register("services", ServiceViewSet, basename="service")
router.register("staff", StaffViewSet, basename="staff")
router.register("working-hours", WorkingHoursViewSet, basename="working-hours")
router.register("time-off", TimeOffViewSet, basename="time-off")
router.register("clients", ClientViewSet, basename="client")
router.register("appointments", AppointmentViewSet, basename="appointment")
router.register("inbox", InboxViewSet, basename="inbox")
router.register("reminder-rules", ReminderRuleViewSet, basename="reminder-rule")
router.register("policies", PolicyViewSet, basename="policy")
router.register("reliability", ReliabilityViewSet, basename="reliability")
router.register("waitlist", WaitlistViewSet, basename="waitlist")
router.register("waitlist-offers", WaitlistOfferViewSet, basename="waitlist-offer")
router.register("survey-results", SurveyResultViewSet, basename="survey-result")
router.register("team", TeamMemberViewSet, basename="team-member")
router.register("api-keys", ApiKeyViewSet, basename="api-key")
router.register("webhook-endpoints", WebhookEndpointViewSet, basename="webhook-endpoint")

urlpatterns = [
    path("business/", CurrentBusinessView.as_view(), name="business"),
    path("availability/", AvailabilityView.as_view(), name="availability"),
    path("booking-rules/", BookingRulesView.as_view(), name="booking-rules"),
    path("reports/", ReportView.as_view(), name="reports"),
    # The schema describes the API, not any business's data: integrators read it without a key.
    path("schema/", SpectacularAPIView.as_view(permission_classes=[AllowAny]), name="schema"),
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api:schema", permission_classes=[AllowAny]),
        name="docs",
    ),
    # An appointment's notes, link sent again, and replies.
    path("appointments/<int:pk>/notes/", AppointmentNoteView.as_view(), name="appointment-notes"),
    path(
        "appointments/<int:pk>/resend-link/",
        AppointmentResendLinkView.as_view(),
        name="appointment-resend-link",
    ),
    path(
        "appointments/<int:pk>/replies/",
        AppointmentRepliesView.as_view(),
        name="appointment-replies",
    ),
    # Policies' views of appointments and clients (the policies app owns them).
    path("appointments/<int:pk>/policy/", appointment_policy, name="appointment-policy"),
    path(
        "appointments/<int:pk>/policy/payments/",
        appointment_payments,
        name="appointment-policy-payments",
    ),
    path(
        "appointments/<int:pk>/policy/waive-fee/",
        appointment_waive_fee,
        name="appointment-policy-waive-fee",
    ),
    path(
        "appointments/<int:pk>/policy/keep-credit/",
        appointment_keep_credit,
        name="appointment-policy-keep-credit",
    ),
    path("clients/<int:pk>/ledger/", ClientLedgerView.as_view(), name="client-ledger"),
    path(
        "clients/<int:pk>/deposit-flag/",
        ClientDepositFlagView.as_view(),
        name="client-deposit-flag",
    ),
    path(
        "webhook-endpoints/<int:pk>/deliveries/",
        WebhookDeliveryViewSet.as_view({"get": "list"}),
        name="webhook-endpoint-deliveries",
    ),
    *router.urls,
]
