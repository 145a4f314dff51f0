"""Providers' webhooks.

Twilio's are per business (`/webhooks/<business slug>/twilio/...`): the slug gives the
request its business, like every public URL. One more takes the SMS sent to a number several
businesses share (`/webhooks/twilio/inbound/`, set as the shared number's or messaging
service's inbound URL): the reply itself says which business it answers. Email providers'
are global (one account for all businesses): the message they report on names its business.
"""

from django.urls import path

from reminders import webhooks

urlpatterns = [
    path("twilio/inbound/", webhooks.twilio_inbound, name="twilio_inbound"),
    path(
        "twilio/status/<int:message_id>/",
        webhooks.twilio_status,
        name="twilio_status",
    ),
]

# Only the tracking views of the providers Puntual is set up for, each refusing requests
# without the shared secret (anymail's own URL list would accept them all, unauthenticated
# when no secret is configured).
email_urlpatterns = [
    path(
        "postmark/tracking/",
        webhooks.PostmarkTrackingView.as_view(),
        name="postmark_tracking_webhook",
    ),
]

# Replies to a shared number (one URL for all businesses; the view finds the business).
shared_twilio_urlpatterns = [
    path("inbound/", webhooks.twilio_inbound_shared, name="twilio_inbound"),
]
