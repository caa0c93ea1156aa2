from django.urls import path

from accounts import staff_views, views

app_name = "accounts"
urlpatterns = [
    path("", views.account_settings, name="settings"),
    path("language/", views.language_set, name="language"),
    path("staff/invitation/<str:key>/", staff_views.staff_invitation, name="staff-invitation"),
    path("staff/password/", staff_views.staff_set_password, name="staff-set-password"),
]
