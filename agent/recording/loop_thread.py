"""An asyncio event loop in a thread of its own, for blocking code that must await.

The recorder's sinks are called from plain code; what they drive (MQTT clients, tools)
is asyncio. A ``LoopThread`` keeps one loop alive for the sink's lifetime, so
connections made on it stay usable between calls.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    def __init__(self, name: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def open(self, connect: Coroutine[Any, Any, Any] | None = None) -> None:
        """Start the loop and run ``connect`` on it (e.g. a client's ``__aenter__``), so a
        wrong address fails before any work; the loop is stopped again if it does."""
        self.start()
        if connect is None:
            return
        try:
            self.run(connect)
        except BaseException:
            self.stop()
            raise

    def close(self, disconnect: Coroutine[Any, Any, Any] | None = None) -> None:
        """Run ``disconnect`` (e.g. a client's ``aclose``), then stop the loop whatever happens."""
        try:
            if disconnect is not None:
                self.run(disconnect)
        finally:
            self.stop()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the loop and wait for its result (or exception)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()


__all__ = ["LoopThread"]
