"""ASGI entry point: HTTP through Django, WebSockets through Channels with session auth.

The origin check refuses WebSocket handshakes from pages not served by one of ALLOWED_HOSTS.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.dev")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from margin.embedded import EmbeddedRiskEngine  # noqa: E402
from portal.embedded import EmbeddedBeat  # noqa: E402
from portal.routing import websocket_urlpatterns  # noqa: E402

# In embedded mode the risk engine (MARGIN_ENGINE_EMBEDDED) and Celery's beat schedule
# (EMBEDDED_BEAT) run in this process, started by these two wrappers.
application = EmbeddedBeat(
    EmbeddedRiskEngine(
        ProtocolTypeRouter(
            {
                "http": django_asgi_app,
                "websocket": AllowedHostsOriginValidator(
                    AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
                ),
            }
        )
    )
)
