from django.urls import path

from support import views

app_name = "support"
urlpatterns = [
    path("", views.ticket_list, name="index"),
    path("new/", views.ticket_new, name="ticket-new"),
    path("sla/", views.sla_public, name="sla"),
    path("<int:pk>/", views.ticket_detail, name="ticket-detail"),
    path("<int:pk>/conversation/", views.ticket_conversation, name="ticket-conversation"),
    path("<int:pk>/reply/", views.ticket_reply, name="ticket-reply"),
    path("<int:pk>/close/", views.ticket_close, name="ticket-close"),
    path("<int:pk>/reopen/", views.ticket_reopen, name="ticket-reopen"),
    path("<int:pk>/export/", views.ticket_export, name="ticket-export"),
    path("<int:pk>/export/<int:export_pk>/", views.ticket_export_download, name="export-download"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment"),
    path("survey/<str:token>/", views.survey, name="survey"),
]
