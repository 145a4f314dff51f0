from django.urls import path

from reports import views

urlpatterns = [
    path("", views.report_page, name="page"),
    path("export.csv", views.report_export, name="export"),
    path("subscriptions/", views.subscription_update, name="subscriptions"),
]
