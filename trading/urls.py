from django.urls import path

from trading import views

app_name = "trading"
urlpatterns = [
    path("", views.ticket, name="ticket"),
    path("orders/", views.orders, name="orders"),
    path("orders/<int:pk>/", views.order_detail, name="order-detail"),
    path("orders/<int:pk>/cancel/", views.order_cancel, name="order-cancel"),
]
