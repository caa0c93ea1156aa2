from django.urls import path

from margin import views

app_name = "margin"
urlpatterns = [
    path("", views.dashboard, name="index"),
    path("status.json", views.status_json, name="status"),
    path("open/", views.financing_open, name="open"),
    path("accounts/<int:pk>/tier/", views.tier_change, name="tier"),
    path("accounts/<int:pk>/rollover/", views.contract_rollover, name="rollover"),
]
