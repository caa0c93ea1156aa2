import json
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from margin import push, selectors, status, watching
from portal.websocket_protocol import FRAME_WRITER

# 4000–4999 are for applications: "sign in first" and "no margin account" stop reconnecting.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_NO_ACCOUNT = 4404


class MarginConsumer(AsyncJsonWebsocketConsumer):
    """Live margin status at /ws/margin/ for the signed-in client's own account.

    The account comes from the session and nothing else: no path, query or message names it.
    On connect the socket sends a full snapshot (with today's chart points); afterwards the
    engine's pushes, each with a sequence number, which reach it through this process's
    ``push.hub`` on the account's own Redis channel (see margin.push for why not a channel-layer
    group per socket). A client that
    sees a gap sends ``{"type": "resync"}`` and gets a fresh snapshot.
    """

    account_id: int | None = None
    # Pushes that arrive while a snapshot is being read; sent after it (see send_snapshot).
    _held: list[str] | None = None
    # No channel layer: pushes come through the hub, and a layer would cost every socket its own
    # Redis channel and receive loop. An alias that is not configured makes Channels skip it.
    channel_layer_alias = "margin-pushes-use-the-hub"

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.accept()
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        account = await database_sync_to_async(selectors.account_for_client)(user)
        if account is None:
            await self.accept()
            await self.close(code=CLOSE_NO_ACCOUNT)
            return
        self.account_id = account.pk
        await self.accept()
        self._held = []
        push.hub.join(account.pk, self)
        # Subscribed before the snapshot is read, so nothing published after the read is missed.
        await push.hub.until_live(account.pk)
        await watching.socket_opened(account.pk)
        await self.send_snapshot()

    async def disconnect(self, code: int) -> None:
        if self.account_id is not None:
            push.hub.leave(self.account_id, self)
            watching.socket_closed(self.account_id)

    def write_frame(self, frame: bytes) -> bool:
        """A status from ``push.hub`` as a ready WebSocket frame, written to the connection
        directly when the server offers that (portal.websocket_protocol) and the socket would
        send it at once; False sends it through ``push_text`` instead: while a snapshot is being
        read, and whenever the ASGI path would wait, drop or refuse it (the session guard's close
        included, which goes through that path)."""
        if self._held is not None:
            return False
        writer = (self.scope.get("extensions") or {}).get(FRAME_WRITER)
        return writer is not None and writer(frame)

    async def push_text(self, text: str) -> None:
        """A status from ``push.hub``, already JSON: straight to the socket, unless a snapshot is
        being read, when it waits for it."""
        if self._held is not None:
            self._held.append(text)
            return
        await self.base_send({"type": "websocket.send", "text": text})

    async def send_snapshot(self) -> None:
        """The full status, before any push. The socket joins the hub before the snapshot is read
        (so nothing published meanwhile is missed) and holds the pushes that arrive during the
        read; afterwards it sends those the snapshot does not already cover."""
        self._held = [] if self._held is None else self._held
        try:
            snapshot = await database_sync_to_async(self._snapshot)()
            await self.send_json(snapshot)
        finally:
            held, self._held = self._held, None
        for text in held:
            if not _covered_by(text, snapshot):
                await self.push_text(text)

    def _snapshot(self) -> dict[str, Any]:
        from margin.models import MarginAccount

        account = MarginAccount.objects.get(pk=self.account_id)
        payload = dict(selectors.live_status(account))
        payload["type"] = "snapshot"
        payload["history"] = status.history(account.pk)
        return payload

    async def receive(self, text_data=None, bytes_data=None, **kwargs: Any) -> None:
        if text_data and self.account_id is not None:
            await super().receive(text_data=text_data, **kwargs)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # Whatever else the message says (an account id, say) is ignored.
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "resync":
            await self.send_snapshot()
        elif kind == "ping":
            await self.send_json({"type": "pong"})

    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        try:
            return json.loads(text_data)
        except ValueError:
            return None


def _covered_by(text: str, snapshot: dict[str, Any]) -> bool:
    """Whether a held status is no newer than the snapshot (same engine run, sequence not after)."""
    try:
        status_ = json.loads(text)
    except ValueError:
        return True
    return status_.get("epoch") == snapshot.get("epoch") and status_.get("seq", 0) <= snapshot.get(
        "seq", 0
    )
