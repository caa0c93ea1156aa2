"""Running a coroutine from a synchronous test."""

import asyncio
import threading


def run_in_thread(scenario, timeout: float = 30):
    """``asyncio.run(scenario())`` in a thread of its own, its result returned: a browser test
    earlier in the run may own this thread's event loop, where asyncio.run would refuse."""
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.update(result=asyncio.run(scenario())))
    thread.start()
    thread.join(timeout=timeout)
    return outcome["result"]
