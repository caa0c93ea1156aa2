from django.urls import path

from education import views

app_name = "education"

urlpatterns = [
    path("", views.index, name="index"),
    path("courses/<slug:slug>/", views.course, name="course"),
    path("courses/<slug:slug>/lessons/<int:pk>/", views.lesson, name="lesson"),
    path("courses/<slug:slug>/quiz/", views.quiz, name="quiz"),
    path("results/<int:pk>/", views.result, name="result"),
    path("warning/", views.warning, name="warning"),
    path("warning/<str:token>/end/", views.warning_end, name="warning-end"),
    path("warning/<str:token>/next/", views.warning_next, name="warning-next"),
    path("warning/<str:token>/confirm/", views.confirm, name="confirm"),
    path("confirmations/<int:pk>/", views.confirmation, name="confirmation"),
    path("confirmations/<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("confirmations/<int:pk>/receipt.pdf", views.receipt, name="receipt"),
    path("verify/", views.verify, name="verify"),
    path("financing/", views.financing, name="financing"),
    path("products/<slug:product>/", views.product, name="product"),
    path("products/<slug:product>/above-rating/", views.above_rating, name="above-rating"),
]
