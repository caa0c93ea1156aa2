from django.urls import path

from margin.consumers import MarginConsumer
from monitoring.consumers import BoardConsumer
from notices.consumers import NoticeConsumer
from trading.consumers import OrderConsumer

websocket_urlpatterns = [
    path("ws/notices/", NoticeConsumer.as_asgi()),
    path("ws/margin/", MarginConsumer.as_asgi()),
    path("ws/monitoring/board/", BoardConsumer.as_asgi()),
    path("ws/trading/", OrderConsumer.as_asgi()),
]
