from django.urls import path

from appointments import (
    views,
    views_actions,
    views_booking,
    views_clients,
    views_detail,
    views_inbox,
    views_requests,
)

urlpatterns = [
    path("", views.dashboard_home, name="home"),
    path("week/", views.week_view, name="week"),
    path("front-desk/", views.front_desk_view, name="desk"),
    path("appointments/new/", views_booking.appointment_new, name="appointment_new"),
    path("appointments/<int:pk>/", views_detail.appointment_detail, name="appointment"),
    *(
        path(
            f"appointments/<int:pk>/{suffix}",
            views_actions.appointment_act,
            {"action": action},
            name=f"appointment_{action}",
        )
        for action, suffix in (
            ("confirm", "confirm/"),
            ("check_in", "check-in/"),
            ("start", "start/"),
            ("attend", "attend/"),
            ("no_show", "no-show/"),
        )
    ),
    path(
        "appointments/<int:pk>/accept/",
        views_requests.appointment_accept_view,
        name="appointment_accept",
    ),
    path(
        "appointments/<int:pk>/decline/",
        views_requests.appointment_decline_view,
        name="appointment_decline",
    ),
    path(
        "appointments/<int:pk>/cancel/",
        views_actions.appointment_cancel_view,
        name="appointment_cancel",
    ),
    path(
        "appointments/<int:pk>/move/", views_actions.appointment_move_view, name="appointment_move"
    ),
    path(
        "appointments/<int:pk>/notes/",
        views_detail.appointment_add_note,
        name="appointment_note",
    ),
    path(
        "appointments/<int:pk>/resend-link/",
        views_detail.appointment_resend_link,
        name="appointment_resend_link",
    ),
    path(
        "appointments/<int:pk>/waive-fee/",
        views_detail.appointment_waive_fee,
        name="appointment_waive_fee",
    ),
    path(
        "appointments/<int:pk>/payments/",
        views_detail.appointment_record_payment,
        name="appointment_payment",
    ),
    path(
        "appointments/<int:pk>/keep-credit/",
        views_detail.appointment_keep_credit,
        name="appointment_keep_credit",
    ),
    path("clients/", views_clients.client_list, name="clients"),
    path("clients/<int:pk>/", views_clients.client_detail, name="client"),
    path("clients/<int:pk>/notes/", views_clients.client_notes, name="client_notes"),
    path("requests/", views_requests.requests_page, name="requests"),
    path("requests/count/", views_requests.requests_count, name="requests_count"),
    path("inbox/", views_inbox.inbox, name="inbox"),
    path("inbox/count/", views_inbox.inbox_count, name="inbox_count"),
    path("inbox/<int:pk>/handled/", views_inbox.inbox_handled, name="inbox_handled"),
    path("inbox/<int:pk>/confirm/", views_inbox.inbox_confirm, name="inbox_confirm"),
]
