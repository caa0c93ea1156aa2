from django.contrib import admin
from django.urls import path

from backoffice import views

app_name = "backoffice"

urlpatterns = [
    path("", admin.site.admin_view(views.client_search), name="search"),
    path("<int:user_id>/", admin.site.admin_view(views.client_detail), name="client"),
]
