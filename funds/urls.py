from django.urls import path

from funds import views

app_name = "funds"
urlpatterns = [
    path("", views.index, name="index"),
    path("bank-accounts/", views.bank_account_add, name="bank-account-add"),
    path("withdraw/", views.withdraw, name="withdraw"),
    path("statements/", views.statement_request, name="statement-request"),
    path("statements/<int:pk>.pdf", views.statement_download, name="statement-download"),
]
