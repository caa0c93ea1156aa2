from django.urls import path

from notices import views

app_name = "notices"
urlpatterns = [
    path("", views.notice_list, name="list"),
    path("<int:pk>/read/", views.notice_mark_read, name="mark-read"),
    path("read-all/", views.notice_mark_all_read, name="mark-all-read"),
    path("preferences/", views.notice_preferences, name="preferences"),
]
