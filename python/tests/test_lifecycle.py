# SPDX-License-Identifier: ISC
"""test_lifecycle.py: closing a node from its own handlers and
restorers, twice, while it reconnects, or from a task that is
cancelled meanwhile; restorers that fail; waits that time out.
Against a fake daemon that answers every request."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import threading
import warnings
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator

import pytest

import conftest
import peerd
from conftest import until


class FakeDaemon(conftest.FakeDaemon):
    """Answers hello with protocol 1 and every other request with an
    empty map; ended is released as each client leaves."""

    hello = {"protocol": 1, "name": "fake"}

    def __init__(self) -> None:
        super().__init__()
        self.ended = asyncio.Semaphore(0)

    async def serve(self, r: asyncio.StreamReader,
                    w: asyncio.StreamWriter) -> None:
        try:
            await super().serve(r, w)
        finally:
            self.ended.release()


def run_with_fake(tmp_base: Path,
                  body: Callable[[FakeDaemon, str], Awaitable[None]],
                  bound: float = 5) -> None:
    path = str(tmp_base / "fake.sock")

    async def run() -> None:
        fake = FakeDaemon()
        async with await asyncio.start_unix_server(fake.serve, path):
            await body(fake, path)
            fake.drop()

    asyncio.run(asyncio.wait_for(run(), bound))


async def stop(server: asyncio.AbstractServer, fake: FakeDaemon,
               node: peerd.Node) -> None:
    """Stops the fake daemon (no more clients, and those it has
    dropped); returns once node has seen its connection end."""
    server.close()
    await server.wait_closed()
    fake.drop()
    await until(lambda: not node.connected, "the drop seen", 2)


def others() -> set[asyncio.Task[Any]]:
    return asyncio.all_tasks() - {asyncio.current_task()}


def test_close_from_a_handler_and_twice(tmp_base: Path) -> None:
    """A handler that closes the node is not cancelled by it: it goes
    on, with no cancellation pending; closing again does nothing."""
    async def body(fake: FakeDaemon, path: str) -> None:
        node = await peerd.connect(path)
        after: list[int] = []

        async def closer(msg: dict[str, Any]) -> None:
            await node.close()
            task = asyncio.current_task()
            assert task is not None
            after.append(task.cancelling())
            await asyncio.sleep(0)      # would raise a pending cancel
            after.append(-1)

        node.on_message("note", closer)
        fake.send(op="note")
        await asyncio.wait_for(node.serve_forever(), 2)
        await until(lambda: len(after) == 2, "the handler's end", 2)
        assert after == [0, -1]
        assert node.closed
        await node.close()
        with pytest.raises(peerd.Unavailable):
            await node.request("status")

    run_with_fake(tmp_base, body)


def test_a_cancelled_close_is_cancelled(tmp_base: Path) -> None:
    """close() waits for the handlers it cancels; cancelling the task
    that awaits it cancels that task, as any await."""
    async def body(fake: FakeDaemon, path: str) -> None:
        node = await peerd.connect(path)
        started = asyncio.Event()
        cleaned = asyncio.Event()

        async def slow_to_stop(msg: dict[str, Any]) -> None:
            started.set()
            try:
                await asyncio.sleep(30)
            finally:
                await asyncio.sleep(0.5)    # cleaning up
                cleaned.set()

        node.on_message("note", slow_to_stop)
        fake.send(op="note")
        await asyncio.wait_for(started.wait(), 2)
        closing = asyncio.create_task(node.close())
        await asyncio.sleep(0.05)
        closing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(closing, 0.3)
        assert node.closed and not cleaned.is_set()
        # The socket is closed all the same.
        await asyncio.wait_for(fake.ended.acquire(), 0.3)
        await asyncio.wait_for(cleaned.wait(), 2)

    run_with_fake(tmp_base, body)


def test_a_close_cancelled_while_reconnecting_ends_subscriptions(
        tmp_base: Path) -> None:
    path = str(tmp_base / "fake.sock")

    async def run() -> None:
        fake = FakeDaemon()
        server = await asyncio.start_unix_server(fake.serve, path)
        node = await peerd.connect(path)
        sub = await node.subscribe("t")
        await stop(server, fake, node)

        async def slow_to_stop() -> None:
            try:
                await asyncio.sleep(30)
            finally:
                await asyncio.sleep(0.5)
        node.spawn(slow_to_stop())
        await asyncio.sleep(0)
        closing = asyncio.create_task(node.close())
        await asyncio.sleep(0.05)
        closing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await closing
        assert [ev async for ev in sub] == []       # ended, not waiting

    asyncio.run(asyncio.wait_for(run(), 5))


def test_open_twice_or_after_close(tmp_base: Path) -> None:
    """open() on an open node, or a closed one, makes no connection."""
    async def body(fake: FakeDaemon, path: str) -> None:
        node = await peerd.connect(path)
        with pytest.raises(RuntimeError, match="open already"):
            await node.open()
        await node.close()
        with pytest.raises(peerd.Unavailable, match="closed"):
            await node.open()
        assert not node.connected
        with pytest.raises(peerd.Unavailable):
            await node.request("status")
        assert len(fake.writers) == 1

    run_with_fake(tmp_base, body)


def test_two_tasks_iterating_one_subscription(tmp_base: Path) -> None:
    """Each event goes to one of them, and closing the subscription
    ends both."""
    async def body(fake: FakeDaemon, path: str) -> None:
        node = await peerd.connect(path)
        sub = await node.subscribe("t")

        async def read() -> list[Any]:
            return [ev.seq async for ev in sub]
        readers = [asyncio.create_task(read()) for _ in range(2)]
        await asyncio.sleep(0.05)
        for seq in (1, 2, 3):
            fake.send(op="event", topic="t", node="n", name="a", seq=seq)
        await node.request("status")        # the events are in
        await until(lambda: not sub.pending, "the events taken", 2)
        await sub.close()
        got = await asyncio.wait_for(asyncio.gather(*readers), 1)
        assert sorted(got[0] + got[1]) == [1, 2, 3]
        await node.close()

    run_with_fake(tmp_base, body)


def test_close_from_a_restorer_and_while_reconnecting(
        tmp_base: Path) -> None:
    async def body(fake: FakeDaemon, path: str) -> None:
        baseline = others()
        node = await peerd.connect(path)
        restored = asyncio.Event()

        async def restorer() -> None:
            await node.close()
            restored.set()

        node.add_restorer(restorer)
        fake.drop()
        await asyncio.wait_for(restored.wait(), 2)
        await asyncio.wait_for(node.serve_forever(), 1)
        assert node.closed and not node.connected

        # Closed while it waits to reconnect: nothing is left running.
        other = await peerd.connect(path)
        fake.drop()
        await until(lambda: not other.connected, "the drop seen", 2)
        await asyncio.wait_for(other.close(), 1)
        # The fake's own task for the dropped client ends by itself;
        # polled here, as until() would count a task of its own.
        for _ in range(200):
            if not others() - baseline:
                break
            await asyncio.sleep(0.01)
        assert not others() - baseline, others() - baseline

    run_with_fake(tmp_base, body)


def test_a_restorer_that_raises(tmp_base: Path,
                                caplog: pytest.LogCaptureFixture) -> None:
    """A restorer that raises any exception is logged; the others
    still run."""
    async def body(fake: FakeDaemon, path: str) -> None:
        node = await peerd.connect(path)
        second = asyncio.Event()

        async def broken() -> None:
            raise RuntimeError("a bug in a restorer")

        async def fine() -> None:
            second.set()

        node.add_restorer(broken)
        node.add_restorer(fine)
        fake.drop()
        await asyncio.wait_for(second.wait(), 2)
        assert (await node.request("status")) == {}
        await node.close()

    with caplog.at_level(logging.ERROR, logger="peerd"):
        run_with_fake(tmp_base, body)
    assert "a bug in a restorer" in caplog.text


def test_wait_connected_timeouts_leave_no_task(tmp_base: Path) -> None:
    """A wait_connected that times out leaves nothing waiting behind."""
    path = str(tmp_base / "fake.sock")

    async def run() -> None:
        fake = FakeDaemon()
        server = await asyncio.start_unix_server(fake.serve, path)
        node = await peerd.connect(path)
        await stop(server, fake, node)
        with pytest.raises(peerd.DeadlineExceeded):
            await node.wait_connected(0.01)
        before = len(others())
        for _ in range(20):
            with pytest.raises(peerd.DeadlineExceeded):
                await node.wait_connected(0.001)
        assert len(others()) == before
        await node.close()
        with pytest.raises(peerd.Unavailable):
            await node.wait_connected(1)

    asyncio.run(asyncio.wait_for(run(), 5))


@contextlib.contextmanager
def daemon_in_a_thread(path: str) -> Iterator[FakeDaemon]:
    """A FakeDaemon on a loop of its own, in a thread: it outlives the
    loops of the test."""
    fake = FakeDaemon()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever)
    thread.start()
    try:
        server = asyncio.run_coroutine_threadsafe(
            asyncio.start_unix_server(fake.serve, path), loop).result(2)
        yield fake

        async def stop() -> None:
            fake.drop()
            server.close()
        asyncio.run_coroutine_threadsafe(stop(), loop).result(2)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(2)
        loop.close()


def test_a_node_on_another_loop_says_so(tmp_base: Path) -> None:
    """A node opened on one loop is not used on another: a request
    there raises RuntimeError at once rather than never being
    answered, and the node stays good on its own loop."""
    path = str(tmp_base / "fake.sock")
    with daemon_in_a_thread(path):
        first = asyncio.new_event_loop()
        node = first.run_until_complete(
            asyncio.wait_for(peerd.connect(path), 2))

        async def elsewhere() -> None:
            with pytest.raises(RuntimeError, match="another event loop"):
                await node.request("status")
        asyncio.run(asyncio.wait_for(elsewhere(), 2))
        assert first.run_until_complete(node.request("status", wait=2)) == {}
        first.run_until_complete(node.close())
        first.close()


def test_a_node_left_open_closes_its_socket_with_the_loop(
        tmp_base: Path) -> None:
    """asyncio.run ending with a node never closed: its read loop is
    cancelled, and closes the socket (no unclosed transport)."""
    path = str(tmp_base / "fake.sock")
    with daemon_in_a_thread(path):
        async def forgetful() -> None:
            await peerd.connect(path)
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always", ResourceWarning)
            asyncio.run(asyncio.wait_for(forgetful(), 2))
            gc.collect()
        assert not [w for w in seen if w.category is ResourceWarning]
