from django.urls import path

from appointments import views

urlpatterns = [
    path("", views.dashboard_home, name="home"),
]
