from django.urls import path

from margin import views

app_name = "margin"
urlpatterns = [
    path("", views.dashboard, name="index"),
    path("status.json", views.status_json, name="status"),
]
