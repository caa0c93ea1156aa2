"""The cache and the channel layer (embedded defaults; production and CI set Redis), and how
often open WebSockets are re-checked."""

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Open WebSockets are re-checked against their session this often (portal.sockets): a socket
# outlives a sign-out, password change, deactivation or revoked session by at most this long.
SOCKET_SESSION_CHECK_SECONDS = 2.0
