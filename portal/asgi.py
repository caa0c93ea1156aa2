"""ASGI entry point: HTTP through Django, WebSockets through Channels with session auth.

The origin check refuses WebSocket handshakes from pages of any other site (scheme, host and port
compared, portal.sockets); every socket ends when its session does (portal.sockets.guard);
request bodies over the limit are refused before they are read (portal.limits); a socket that
meets a database or Redis outage is closed with 1013 (portal.middleware).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.dev")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from margin.embedded import EmbeddedRiskEngine  # noqa: E402
from portal.embedded import EmbeddedBeat  # noqa: E402
from portal.limits import RequestBodyLimit  # noqa: E402
from portal.middleware import WebSocketOutageMiddleware  # noqa: E402
from portal.routing import websocket_urlpatterns  # noqa: E402
from portal.sockets import SessionBoundSockets, StrictOriginValidator  # noqa: E402
from trading.embedded import EmbeddedVenue  # noqa: E402

# In embedded mode the risk engine (MARGIN_ENGINE_EMBEDDED), Celery's beat schedule
# (EMBEDDED_BEAT) and the venue loop (TRADING_VENUE_EMBEDDED) run in this process, started by
# these wrappers.
application = EmbeddedVenue(
    EmbeddedBeat(
        EmbeddedRiskEngine(
            ProtocolTypeRouter(
                {
                    "http": RequestBodyLimit(django_asgi_app),
                    "websocket": StrictOriginValidator(
                        # Outside the session and auth middleware: those read the database too.
                        WebSocketOutageMiddleware(
                            AuthMiddlewareStack(
                                SessionBoundSockets(URLRouter(websocket_urlpatterns))
                            )
                        )
                    ),
                }
            )
        )
    )
)
