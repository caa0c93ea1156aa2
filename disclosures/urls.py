from django.urls import path

from disclosures import views

app_name = "disclosures"
urlpatterns = [
    path("", views.index, name="index"),
    path("fees/", views.fees, name="fees"),
    path("changes/", views.changes, name="changes"),
    path("changes/<int:pk>/", views.change_detail, name="change"),
    path("changes/<int:pk>/answer/", views.change_answer, name="change-answer"),
    path("<slug:kind>/", views.document_detail, name="document"),
    path("<slug:kind>/compare/", views.compare, name="compare"),
    path("<slug:kind>/v<int:number>/", views.version_detail, name="version"),
    path("<slug:kind>/v<int:number>/<str:language>.pdf", views.version_pdf, name="pdf"),
]
