"""Clients' self-service pages: /<business slug>/book/, /waitlist/..., /survey/...

Included under the same slug prefix as reminders.public_urls, before it, with paths of
its own (none of them is a prefix of `a/<token>/`).
"""

from django.urls import path

from selfservice import public_views

urlpatterns = [
    path("book/", public_views.book, name="book"),
    path("book/done/<str:token>/", public_views.booked, name="booked"),
    path("book/calendar/<str:token>/", public_views.calendar_file, name="ics"),
    path("waitlist/join/", public_views.waitlist_join_view, name="waitlist_join"),
    path("waitlist/offer/<str:token>/", public_views.offer_page, name="offer"),
    path("survey/<str:token>/", public_views.survey_page, name="survey"),
]
