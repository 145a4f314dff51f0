"""The client page's personal data actions, under /dashboard/clients/<id>/."""

from django.urls import path

from clients import views

urlpatterns = [
    path("<int:pk>/export/", views.client_export_download, name="export"),
    path("<int:pk>/erase/", views.client_erase_page, name="erase"),
]
