# SPDX-License-Identifier: ISC
"""_runner.py: an event loop in a thread of its own, for the
synchronous facade: blocking calls run coroutines there and wait.
Sync code the loop hands off (asyncio.to_thread, run_in_executor with
the default executor) runs in the runner's worker threads, which
close() joins with the loop's thread."""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import threading
from typing import Any, AsyncIterator, Awaitable, Callable, Coroutine, \
    Iterator, TypeVar

from .errors import Unavailable

__all__ = ["Runner", "RunnerClosed"]

T = TypeVar("T")

_worker = threading.local()     # .runner: set in a runner's worker threads
CLOSE_WAIT = 5.0                # seconds close() waits for tasks to end


class RunnerClosed(Unavailable):
    """A blocking call on a closed runner, or one that close() ended:
    the synchronous node is closed."""


class Runner:
    """Owns a loop running in a daemon thread, and the worker threads
    of its default executor."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._executor = concurrent.futures.ThreadPoolExecutor(
            thread_name_prefix="peerd-worker", initializer=self._mark)
        self.loop.set_default_executor(self._executor)
        self._closed = False        # close() has begun
        self._stopped = False       # the loop is stopping: no more runs
        self._lock = threading.Lock()
        self._waiting: set[concurrent.futures.Future[Any]] = set()
        self._thread = threading.Thread(target=self._main, name="peerd",
                                        daemon=True)
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def _mark(self) -> None:
        _worker.runner = self

    @property
    def closed(self) -> bool:
        """Whether close() has begun."""
        return self._closed

    def _check(self, aw: object) -> None:
        """Raises RunnerClosed or RuntimeError (closing aw, a coroutine
        that will never run) where a blocking wait cannot work."""
        err: Exception | None = None
        if self._stopped:
            err = RunnerClosed("peerd: the synchronous node is closed")
        elif threading.current_thread() is self._thread:
            err = RuntimeError("a blocking peerd call from the node's own "
                               "loop; use the async Node there")
        if err is not None:
            if inspect.iscoroutine(aw):
                aw.close()
            raise err

    def run(self, aw: Awaitable[T]) -> T:
        """Runs aw on the loop and returns its result (or raises its
        exception).  An interrupt (KeyboardInterrupt) while waiting
        cancels it there.  RuntimeError from the loop's own thread;
        RunnerClosed after close(), or if close() ends the wait."""
        async def wrap() -> T:
            return await aw
        fut: concurrent.futures.Future[T] | None = None
        try:
            with self._lock:
                self._check(aw)
                fut = asyncio.run_coroutine_threadsafe(wrap(), self.loop)
                self._waiting.add(fut)
            return fut.result()
        except concurrent.futures.CancelledError:
            if self._closed:
                raise RunnerClosed("peerd: the synchronous node was closed "
                                   "while waiting") from None
            raise
        except BaseException:
            if fut is not None:
                fut.cancel()
            raise
        finally:
            if fut is not None:
                with self._lock:
                    self._waiting.discard(fut)

    def call(self, fn: Callable[[], T]) -> T:
        """Calls fn() in the loop's thread (for code that needs the
        running loop) and returns its result."""
        async def on_loop() -> T:
            return fn()
        return self.run(on_loop())

    def submit(self, coro: Coroutine[Any, Any, T]
               ) -> concurrent.futures.Future[T]:
        """Starts coro on the loop without waiting."""
        self._check(coro)
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def iterate(self, ait: AsyncIterator[T]) -> Iterator[T]:
        """A blocking iterator over an async one.  Closing it early
        (break, then close() or garbage collection) closes ait too, if
        ait has aclose() (an async generator does)."""
        try:
            while True:
                try:
                    yield self.run(ait.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            aclose = getattr(ait, "aclose", None)
            if aclose is not None and not self._closed \
                    and threading.current_thread() is not self._thread:
                self.run(aclose())

    def close(self) -> None:
        """Cancels what still runs on the loop, stops it, and joins its
        thread and the worker threads (waiting for sync code running in
        them to return: a thread cannot be interrupted).  From a worker
        thread, that thread is left to end by itself when it returns.
        Idempotent."""
        if self._closed:
            return
        if threading.current_thread() is self._thread:
            raise RuntimeError("Runner.close() from the runner's own loop")
        self._closed = True
        self.run(self._cancel_all())
        with self._lock:
            self._stopped = True
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(CLOSE_WAIT)
        # What other threads started just before is never run: end
        # their waits.
        with self._lock:
            for fut in self._waiting:
                fut.cancel()
        if not self._thread.is_alive():
            self.loop.close()
        self._executor.shutdown(
            wait=getattr(_worker, "runner", None) is not self)

    async def _cancel_all(self) -> None:
        me = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not me]
        for t in tasks:
            t.cancel()
        if tasks:
            # A task that ignores cancellation is left behind.
            await asyncio.wait(tasks, timeout=CLOSE_WAIT)
        await self.loop.shutdown_asyncgens()
