# SPDX-License-Identifier: ISC
"""test_events.py: publish, subscribe and @on against real daemons:
order and data across two nodes, patterns, overlapping subscriptions
on one connection, loss reported for slow consumers (the local queue
and the daemon's own count), unsubscribing, and subscriptions made
again after a daemon restart."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from pathlib import Path
from typing import Any, AsyncIterator

import pytest

import peerd
from peerd._events import topic_matches
from conftest import Mesh, fake_daemon, frame, reply


@contextlib.asynccontextmanager
async def nodes(mesh: Mesh) -> AsyncIterator[tuple[peerd.Node, peerd.Node]]:
    """A node on daemon a and one on daemon b, closed at the end."""
    a = await peerd.connect(mesh.a.sock)
    b = await peerd.connect(mesh.b.sock)
    async with a, b:
        yield a, b


async def wait_topic(node: peerd.Node, pattern: str, subscriber: str,
                     present: bool = True, seconds: float = 10) -> None:
    """Waits until node's daemon lists (or no longer lists) pattern for
    the node subscriber: publishers only send to nodes they know want
    the topic."""
    async def listed() -> bool:
        r = await node.request("topics")
        return any(t["topic"] == pattern and t["node"] == subscriber
                   for t in r["topics"])

    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while await listed() != present:
        if loop.time() > end:
            pytest.fail(f"{pattern} of {subscriber} "
                        f"{'not listed' if present else 'still listed'} "
                        f"within {seconds:g} s")
        await asyncio.sleep(0.02)


async def take(sub: peerd.Subscription, n: int,
               seconds: float = 5) -> list[peerd.Event]:
    return [await asyncio.wait_for(anext(sub), seconds) for _ in range(n)]


async def take_pending(sub: peerd.Subscription) -> list[peerd.Event]:
    """The events queued now (handing them out does not wait)."""
    return [await anext(sub) for _ in range(sub.pending)]


async def local_topics(node: peerd.Node) -> list[str]:
    r = await node.request("topics")
    return sorted(t["topic"] for t in r["topics"] if t["local"])


def test_topic_matches_as_the_protocol_says() -> None:
    assert topic_matches("sensor.temp", "sensor.temp")
    assert not topic_matches("sensor.temp", "sensor.temp2")
    for t in ("sensor.temp", "sensor.a.b"):
        assert topic_matches("sensor.*", t)
    for t in ("sensor", "sensorx", "sensorx.temp", "sensor."):
        assert not topic_matches("sensor.*", t)
    assert topic_matches("*", "a") and topic_matches("*", "a.b")


def test_events_reach_another_node_in_order(mesh: Mesh) -> None:
    async def run() -> None:
        async with nodes(mesh) as (a, b):
            sub = await b.subscribe("sensor.*")
            await wait_topic(a, "sensor.*", b.info["node"])
            blob = bytes(range(256)) * 4
            seqs = [await a.publish("sensor.temp",
                                    {"i": i, "blob": blob, "f": i / 3})
                    for i in range(200)]
            assert seqs == sorted(set(seqs))
            got = []
            async for ev in sub:
                got.append(ev)
                if len(got) == 200:
                    break
            assert [ev.seq for ev in got] == seqs
            for i, ev in enumerate(got):
                assert ev.data == {"i": i, "blob": blob, "f": i / 3}
                assert (ev.topic, ev.node, ev.name, ev.lost,
                        ev.reconnected, ev.verified) == \
                    ("sensor.temp", a.info["node"], "a", 0, False, True)
            # No data: the event has none.
            await a.publish("sensor.empty")
            (ev,) = await take(sub, 1)
            assert ev.topic == "sensor.empty" and ev.data is None
            await sub.close()

    asyncio.run(asyncio.wait_for(run(), 20))


def test_patterns_and_overlapping_subscriptions(mesh: Mesh) -> None:
    """Every local subscription whose pattern matches gets its copy of
    an event the daemon sends once; a pattern shared by several is
    subscribed at the daemon once, and unsubscribed when the last
    closes."""
    async def run() -> None:
        async with await peerd.connect(mesh.b.sock) as node:
            exact = await node.subscribe("door.open")
            wild = await node.subscribe("door.*")
            wild2 = await node.subscribe("door.*", "window")
            every = await node.subscribe("*")
            assert await local_topics(node) == \
                ["*", "door.*", "door.open", "window"]
            topics = ["door", "door.", "door.open", "door.a.b", "doorx.c",
                      "window", "zz.end"]
            for t in topics:
                await node.publish(t, t)
            # Events are handed to every subscription as they come: once
            # the last reached one, the others hold theirs.
            assert [ev.topic for ev in await take(every, 7)] == topics
            assert [ev.data for ev in await take_pending(exact)] == \
                ["door.open"]
            assert [ev.topic for ev in await take_pending(wild)] == \
                ["door.open", "door.a.b"]
            assert [ev.topic for ev in await take_pending(wild2)] == \
                ["door.open", "door.a.b", "window"]

            # Closing one of two on door.* keeps it at the daemon.
            await wild.close()
            with pytest.raises(StopAsyncIteration):
                await anext(wild)
            assert "door.*" in await local_topics(node)
            await wild2.close()
            assert await local_topics(node) == ["*", "door.open"]
            await node.publish("door.x")
            await node.publish("door.open")
            assert [ev.topic for ev in await take(every, 2)] == \
                ["door.x", "door.open"]
            assert [ev.topic for ev in await take_pending(exact)] == \
                ["door.open"]
            async with exact, every:
                pass
            assert await local_topics(node) == []

    asyncio.run(asyncio.wait_for(run(), 20))


def test_unsubscribe_stops_delivery_between_nodes(mesh: Mesh) -> None:
    async def run() -> None:
        async with nodes(mesh) as (a, b):
            me = b.info["node"]
            wire: list[str] = []        # every event the daemon sends
            b.on_message("event", lambda m: wire.append(m["topic"]))
            sub = await b.subscribe("t.*")
            await wait_topic(a, "t.*", me)
            await a.publish("t.one", 1)
            assert [ev.data for ev in await take(sub, 1)] == [1]
            await sub.close()
            await wait_topic(a, "t.*", me, present=False)
            async with b.subscribe("u") as other:
                await wait_topic(a, "u", me)
                await a.publish("t.two", 2)
                await a.publish("u", 3)
                # u was published after t.two by the same node: t.two
                # would have come before it.
                assert [ev.data for ev in await take(other, 1)] == [3]
                assert wire == ["t.one", "u"]
            await wait_topic(a, "u", me, present=False)

    asyncio.run(asyncio.wait_for(run(), 20))


def test_bad_topics_and_the_daemons_errors(mesh: Mesh) -> None:
    async def run() -> None:
        async with await peerd.connect(mesh.b.sock) as node:
            for bad in ("Sensor", "sensor.*", "", "a" * 65, "a b"):
                with pytest.raises(peerd.InvalidArgument, match="topic"):
                    await node.publish(bad)
            for bad in ("a*", "*.b", ".*", "a.*.b", "a.*.*", "Sensor",
                        "a" * 63 + ".*", ""):
                with pytest.raises(peerd.InvalidArgument, match="pattern"):
                    node.subscribe(bad)
            with pytest.raises(peerd.InvalidArgument):
                node.subscribe()
            with pytest.raises(peerd.InvalidArgument):
                node.subscribe("x", queue=0)
            with pytest.raises(peerd.InvalidArgument):
                await node.publish("x", object())
            # A node lists at most 64 patterns: the 65th is refused, and
            # a subscription refused in part leaves nothing behind.
            subs = [await node.subscribe(f"p{i}") for i in range(63)]
            with pytest.raises(peerd.ResourceExhausted):
                await node.subscribe("p62", "p63", "p64")
            assert len(await local_topics(node)) == 63
            # The daemon's error ends a decorator's node: serve_forever
            # raises it.
            node.on("p64", "p65")(lambda ev: None)
            with pytest.raises(peerd.ResourceExhausted):
                await asyncio.wait_for(node.serve_forever(), 5)
            for s in subs:
                await s.close()

    asyncio.run(asyncio.wait_for(run(), 20))


def test_on_decorator_sync_and_async(mesh: Mesh,
                                     caplog: pytest.LogCaptureFixture) -> None:
    async def run() -> None:
        async with nodes(mesh) as (a, b):
            got_sync: list[tuple[Any, bool]] = []
            got_async: asyncio.Queue[peerd.Event] = asyncio.Queue()
            main = threading.current_thread()

            @b.on("sensor.*")
            def on_sensor(ev: peerd.Event) -> None:
                if ev.data == "boom":
                    raise RuntimeError("handler failed on purpose")
                got_sync.append((ev.data, threading.current_thread() is main))

            @b.on("sensor.temp")
            async def on_temp(ev: peerd.Event) -> None:
                await got_async.put(ev)

            assert on_sensor.__name__ == "on_sensor"   # returned as is
            me = b.info["node"]
            await wait_topic(a, "sensor.*", me)
            await wait_topic(a, "sensor.temp", me)
            for d in (1, "boom", 2):
                await a.publish("sensor.temp", d)
            await a.publish("sensor.hum", 3)
            assert [(await asyncio.wait_for(got_async.get(), 5)).data
                    for _ in range(3)] == [1, "boom", 2]
            loop = asyncio.get_running_loop()
            end = loop.time() + 5
            while len(got_sync) < 3 and loop.time() < end:
                await asyncio.sleep(0.02)
            # In order, in a thread, and on after the exception.
            assert got_sync == [(1, False), (2, False), (3, False)]
            assert "handler failed on purpose" in caplog.text

    with caplog.at_level(logging.ERROR, logger="peerd"):
        asyncio.run(asyncio.wait_for(run(), 20))


def test_a_full_local_queue_counts_lost(mesh: Mesh) -> None:
    async def run() -> None:
        async with await peerd.connect(mesh.b.sock) as node:
            slow = await node.subscribe("s", queue=5)
            every = await node.subscribe("*")
            for i in range(20):
                await node.publish("s", i)
            await take(every, 20)
            assert slow.pending == 5
            assert [ev.data for ev in await take_pending(slow)] == \
                [0, 1, 2, 3, 4]
            await node.publish("s", 20)
            (ev,) = await take(slow, 1)
            assert (ev.data, ev.lost) == (20, 15)
            await node.publish("s", 21)
            (ev,) = await take(slow, 1)
            assert (ev.data, ev.lost) == (21, 0)    # counted once

    asyncio.run(asyncio.wait_for(run(), 20))


def test_a_client_that_stops_reading_is_told_what_the_daemon_dropped(
        mesh: Mesh) -> None:
    """The daemon drops events for a client with more than 1 MiB
    unread, and counts them in the next one's lost: events received
    plus lost add up to the events published."""
    flood, size = 160, 16 << 10

    def publish_flood() -> None:
        async def run() -> None:
            async with await peerd.connect(mesh.b.sock) as pub:
                await asyncio.gather(*(pub.publish("flood", bytes(size))
                                       for _ in range(flood)))
        asyncio.run(run())

    async def run() -> None:
        async with await peerd.connect(mesh.b.sock) as node:
            sub = await node.subscribe("flood", "end", queue=100000)
            # The publisher runs in another thread while this loop is
            # blocked: the node reads nothing meanwhile.
            t = threading.Thread(target=publish_flood)
            t.start()
            t.join(15)
            assert not t.is_alive()
            # Once the node has read its backlog, an end marker gets
            # through; earlier markers may be dropped and counted too.
            received = lost = 0
            markers = 0
            while True:
                markers += 1
                await node.publish("end", markers)
                try:
                    while True:
                        ev = await asyncio.wait_for(anext(sub), 0.2)
                        lost += ev.lost
                        if ev.topic == "end":
                            break
                        received += 1
                        assert len(ev.data) == size
                except asyncio.TimeoutError:
                    assert markers < 20, "no end marker got through"
                    continue
                break
            assert ev.data == markers
            assert lost > 0 and received < flood
            assert received + 1 + lost == flood + markers

    asyncio.run(asyncio.wait_for(run(), 30))


def test_subscriptions_come_back_after_a_daemon_restart(mesh: Mesh) -> None:
    async def run() -> None:
        async with nodes(mesh) as (a, b):
            me = b.info["node"]
            sub = await b.subscribe("sensor.*")
            handled: asyncio.Queue[peerd.Event] = asyncio.Queue()

            @b.on("sensor.temp")
            async def on_temp(ev: peerd.Event) -> None:
                await handled.put(ev)

            await wait_topic(a, "sensor.temp", me)
            await wait_topic(a, "sensor.*", me)
            await a.publish("sensor.temp", "before")
            assert (await take(sub, 1))[0].data == "before"
            assert (await asyncio.wait_for(handled.get(), 5)).data == \
                "before"

            await asyncio.to_thread(mesh.b.stop)
            loop = asyncio.get_running_loop()
            end = loop.time() + 5
            while b.connected and loop.time() < end:
                await asyncio.sleep(0.01)
            assert not b.connected
            # Made while the node is away: it is set up when it is back.
            late = await b.subscribe("late")
            with pytest.raises(peerd.Unavailable):
                await b.publish("x")
            await asyncio.to_thread(mesh.b.start, mesh.a)
            await b.wait_connected(10)
            await wait_topic(a, "sensor.*", me)
            await wait_topic(a, "sensor.temp", me)
            await wait_topic(b, "late", me)
            assert await local_topics(b) == \
                ["late", "sensor.*", "sensor.temp"]
            await a.publish("sensor.temp", "after")
            ev = (await take(sub, 1))[0]
            assert (ev.data, ev.reconnected, ev.lost) == ("after", True, 0)
            ev = await asyncio.wait_for(handled.get(), 5)
            assert (ev.data, ev.reconnected) == ("after", True)
            await a.publish("sensor.temp", "later")
            ev = (await take(sub, 1))[0]
            assert (ev.data, ev.reconnected) == ("later", False)
            await wait_topic(a, "late", me)
            await a.publish("late", "new")
            ev = (await take(late, 1))[0]
            assert (ev.data, ev.reconnected) == ("new", False)

    asyncio.run(asyncio.wait_for(run(), 30))


def test_malformed_events_are_dropped(tmp_base: Path,
                                      caplog: pytest.LogCaptureFixture
                                      ) -> None:
    """From a fake daemon: events of the wrong shape are logged once
    and dropped; good ones around them arrive, with the daemon's lost
    count."""
    path = str(tmp_base / "fake.sock")
    good: dict[str, Any] = {"op": "event", "topic": "t", "node": "n",
                            "name": "", "seq": 1}
    bad: list[dict[str, Any]] = [
        {**good, "seq": -1}, {**good, "seq": "1"}, {**good, "lost": True},
        {**good, "topic": 5}, {k: v for k, v in good.items() if k != "node"},
        {**good, "verified": 1}]

    async def answer(req: dict[str, Any], w: asyncio.StreamWriter) -> None:
        if req["op"] == "subscribe":
            w.write(reply(req, {"topic": req["topic"]}))
            for m in bad:
                w.write(frame(m))
            w.write(frame({**good, "seq": 2, "data": [1], "lost": 7,
                           "extra": "ignored"}))
            w.write(frame({**good, "seq": 3, "verified": True}))

    async def run() -> None:
        async with await fake_daemon(path, answer):
            async with await peerd.connect(path) as node:
                sub = await node.subscribe("t")
                (ev,) = await take(sub, 1)
                # Without "verified" (an older daemon): not verified.
                assert (ev.seq, ev.data, ev.lost, ev.verified) == \
                    (2, [1], 7, False)
                (ev,) = await take(sub, 1)
                assert (ev.seq, ev.verified) == (3, True)
                assert sub.pending == 0

    with caplog.at_level(logging.WARNING, logger="peerd"):
        asyncio.run(asyncio.wait_for(run(), 5))
    assert caplog.text.count("malformed event") == 1
