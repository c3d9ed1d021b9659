# SPDX-License-Identifier: ISC
"""_runner.py: an event loop in a thread of its own, for the
synchronous facade: blocking calls run coroutines there and wait."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any, AsyncIterator, Awaitable, Coroutine, Iterator, \
    TypeVar

__all__ = ["Runner"]

T = TypeVar("T")


class Runner:
    """Owns a loop running in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name="peerd",
                                        daemon=True)
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, aw: Awaitable[T]) -> T:
        """Runs aw on the loop and returns its result (or raises its
        exception).  An interrupt (KeyboardInterrupt) while waiting
        cancels it there."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("a blocking peerd call from the node's own "
                               "loop; use the async Node there")

        async def wrap() -> T:
            return await aw
        fut = asyncio.run_coroutine_threadsafe(wrap(), self.loop)
        try:
            return fut.result()
        except BaseException:
            fut.cancel()
            raise

    def submit(self, coro: Coroutine[Any, Any, T]
               ) -> concurrent.futures.Future[T]:
        """Starts coro on the loop without waiting."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def iterate(self, ait: AsyncIterator[T]) -> Iterator[T]:
        """A blocking iterator over an async one."""
        while True:
            try:
                yield self.run(ait.__anext__())
            except StopAsyncIteration:
                return

    def close(self) -> None:
        """Stops the loop and joins its thread (the node closed first)."""
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self.loop.close()
