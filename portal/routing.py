from django.urls import path

from margin.consumers import MarginConsumer
from notices.consumers import NoticeConsumer

websocket_urlpatterns = [
    path("ws/notices/", NoticeConsumer.as_asgi()),
    path("ws/margin/", MarginConsumer.as_asgi()),
]
