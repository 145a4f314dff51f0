"""Clients' pages, reached from the links in their messages: /<business slug>/a/<token>/."""

from django.urls import path

from reminders import public_views

urlpatterns = [
    path("a/<str:token>/", public_views.appointment_page, name="appointment"),
]
