from django.urls import path

from accounts import onboarding_views as views

app_name = "onboarding"
urlpatterns = [
    path("", views.onboarding_index, name="index"),
    path("status/", views.onboarding_status, name="status"),
    path("assets/", views.assets, name="assets"),
    path("privacy/", views.privacy, name="privacy"),
    path("privacy/export/", views.privacy_export, name="privacy-export"),
    path("privacy/erase/", views.privacy_erase, name="privacy-erase"),
    path("suitability/contest/", views.suitability_contest, name="contest"),
    path("documents/<str:token>/", views.document_image, name="document"),
    path("<slug:slug>/", views.onboarding_step, name="step"),
]
