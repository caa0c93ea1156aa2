"""/ws/notices/ stays open: ten signed-in sockets on the real web process and Redis channel layer
hold for 60 s without a drop, and each still gets its live notice afterwards.

Before the channel layer's read timeout was raised above its 5 s blocking receive, an idle socket
was torn down every few seconds with redis TimeoutError (ten sockets saw 27 drops in 150 s).
"""

import asyncio
import json

import pytest
from websockets.asyncio.client import connect

from tests.faults.conftest import FIGURES

pytestmark = [
    pytest.mark.services,
    pytest.mark.faults,
    pytest.mark.wallclock,
    pytest.mark.django_db,
]

SOCKETS = 10
HOLD_SECONDS = 60


def test_ten_notice_sockets_held_open_for_a_minute_see_no_drop(fault_env, portal):
    portal.worker("worker", concurrency=2)
    web = portal.web()
    login = portal.drive("login", "--tag", "ws", "--users", str(SOCKETS))

    async def scenario():
        sockets = [
            await connect(
                f"ws://127.0.0.1:{web}/ws/notices/",
                origin=f"http://127.0.0.1:{web}",
                additional_headers={"Cookie": f"{login['cookie_name']}={session}"},
                open_timeout=20,
            )
            for session in login["sessions"]
        ]
        await asyncio.sleep(HOLD_SECONDS)
        dropped = [s.close_code for s in sockets if s.close_code is not None]
        await asyncio.to_thread(portal.drive, "inapp", "--tag", "ws", "--users", str(SOCKETS))
        received = []
        for socket in sockets:
            if socket.close_code is None:
                received.append(json.loads(await asyncio.wait_for(socket.recv(), timeout=30)))
        for socket in sockets:
            await socket.close()
        return dropped, received

    dropped, received = asyncio.run(scenario())
    FIGURES.append(
        f"notice sockets: {SOCKETS} held {HOLD_SECONDS} s, {len(dropped)} dropped, "
        f"{len(received)} got their live notice afterwards"
    )
    assert dropped == [], portal.logs()
    titles = sorted(message["title"].rpartition("Hello ")[2] for message in received)
    assert titles == sorted(str(n) for n in range(SOCKETS))
