# SPDX-License-Identifier: ISC
"""test_status.py: status, peers, members, services, topics and ping
against two linked daemons, b a hub of group lab; and a daemon whose
results are malformed."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Awaitable, Iterator

import pytest

import peerd
from peerd._status import MembershipWatch
from conftest import Mesh, fake_daemon, frame, reply, running_mesh, until


@pytest.fixture
def lab(tmp_base: Path) -> Iterator[Mesh]:
    """The mesh of conftest, with b in group lab and a hub."""
    with running_mesh(tmp_base, ["group=lab", "hub=yes"]) as m:
        yield m


async def both_alive(node: peerd.Node) -> list[dict[str, Any]]:
    async def alive() -> bool:
        ms = await node.members()
        return len(ms) == 2 and all(m["state"] == "alive" for m in ms)
    await until(alive, "a and b alive")
    return await node.members()


def test_status_shows_the_node(lab: Mesh) -> None:
    async def run() -> None:
        async with await peerd.connect(lab.a.sock) as node:
            await both_alive(node)
            st = await node.status()
            assert st["node"] == node.info["node"] and st["name"] == "a"
            assert st["protocol"] == 1
            assert lab.a.proc is not None and st["pid"] == lab.a.proc.pid
            assert st["members"] == 2 and st["peers"] == 1
            assert st["clients"] >= 1
            assert st["listen"][0].startswith("127.0.0.1:")

    asyncio.run(asyncio.wait_for(run(), 20))


def test_members_and_their_filters(lab: Mesh) -> None:
    async def run() -> None:
        async with await peerd.connect(lab.a.sock) as node:
            members = await both_alive(node)
            a, b = members              # this node first
            assert (a["name"], a["self"], a["rtt_us"]) == ("a", True, None)
            assert a["node"] == node.info["node"]
            assert (b["name"], b["self"], b["state"]) == ("b", False, "alive")
            assert b["groups"] == ["lab"] and b["hub"] is True
            assert a["groups"] == [] and a["hub"] is False
            assert [m["name"] for m in await node.members(group="lab")] \
                == ["b"]
            assert await node.members(group="nosuch") == []
            assert [m["name"] for m in await node.members(hubs=True)] == ["b"]
            assert len(await node.members(hubs=False)) == 2
            assert len(await node.members(state="alive")) == 2
            assert await node.members(group="lab", state="dead") == []
            assert await node.members(tags=["nosuch"]) == []
            with pytest.raises(peerd.InvalidArgument, match="state"):
                await node.members(state="asleep")
            with pytest.raises(peerd.InvalidArgument, match="tags"):
                await node.members(tags="role=db")
            with pytest.raises(peerd.InvalidArgument, match="group"):
                await node.members(group="x" * 33)

    asyncio.run(asyncio.wait_for(run(), 20))


def test_peers_shows_the_link(lab: Mesh) -> None:
    async def run() -> None:
        async with await peerd.connect(lab.a.sock) as a, \
                await peerd.connect(lab.b.sock) as b:
            async def linked() -> bool:
                return [p["state"] for p in await a.peers()] == ["up"]
            await until(linked, "the link a-b up")
            (pa,) = await a.peers()
            assert pa["node"] == b.info["node"] and pa["name"] == "b"
            assert pa["direction"] == "in"      # b dialed a
            (pb,) = await b.peers()
            assert pb["node"] == a.info["node"] and pb["direction"] == "out"
            assert pb["target"] == pb["addr"]   # b's bootstrap address

    asyncio.run(asyncio.wait_for(run(), 20))


def test_services_lists_the_c_service(lab: Mesh) -> None:
    lab.echo_server(lab.b)
    lab.wait_providers(lab.a, "echo", 1)

    async def run() -> None:
        async with await peerd.connect(lab.a.sock) as a, \
                await peerd.connect(lab.b.sock) as b:
            (echo,) = await a.services("echo")
            assert echo == {"service": "echo", "group": None,
                            "node": b.info["node"], "name": "b",
                            "local": False}
            assert echo in await a.services()
            assert await a.services("nosuch") == []
            (mine,) = await b.services("echo")
            assert mine["local"] is True
            with pytest.raises(peerd.InvalidArgument, match="service"):
                await a.services("x" * 65)

    asyncio.run(asyncio.wait_for(run(), 20))


def test_topics_lists_a_subscription(lab: Mesh) -> None:
    async def run() -> None:
        async with await peerd.connect(lab.a.sock) as a, \
                await peerd.connect(lab.b.sock) as b:
            await b.request("subscribe", topic="sensor.*")
            assert {"topic": "sensor.*", "node": b.info["node"],
                    "name": "b", "local": True} in await b.topics()

            async def seen_at_a() -> bool:
                return {"topic": "sensor.*", "node": b.info["node"],
                        "name": "b", "local": False} in await a.topics()
            await until(seen_at_a, "b's pattern in a's topics")

    asyncio.run(asyncio.wait_for(run(), 20))


def test_ping(lab: Mesh) -> None:
    async def run() -> None:
        async with await peerd.connect(lab.a.sock) as a:
            await both_alive(a)
            b_id = (await a.members(group="lab"))[0]["node"]
            rtt = await a.ping("b")
            assert isinstance(rtt, float) and 0 < rtt < 1
            assert 0 < await a.ping(b_id[:6].upper(), size=1000) < 1
            with pytest.raises(peerd.NotFound, match="nosuch"):
                await a.ping("nosuch")
            with pytest.raises(peerd.InvalidArgument, match="timeout"):
                await a.ping("b", timeout=61)
            with pytest.raises(peerd.InvalidArgument, match="node"):
                await a.ping("x" * 64)

    asyncio.run(asyncio.wait_for(run(), 20))


def test_malformed_results_are_protocol_errors(tmp_base: Path) -> None:
    """A result of the wrong shape raises ProtocolError, not TypeError
    or KeyError."""
    path = str(tmp_base / "fake.sock")
    results: dict[str, Any] = {
        "status": [1], "peers": {}, "members": {"members": [1]},
        "services": {"services": "x"}, "topics": None,
        "ping": {"rtt_us": -1}}

    async def answer(req: dict[str, Any], w: asyncio.StreamWriter) -> None:
        w.write(reply(req, results[req["op"]]))

    async def run() -> None:
        async with await fake_daemon(path, answer):
            async with await peerd.connect(path) as node:
                calls: list[Awaitable[Any]] = [
                    node.status(), node.peers(), node.members(),
                    node.services(), node.topics(), node.ping("b")]
                for aw in calls:
                    with pytest.raises(peerd.ProtocolError,
                                       match="malformed result"):
                        await aw
                assert node.connected       # the connection stays

    asyncio.run(asyncio.wait_for(run(), 5))


def test_watch_members_and_services(lab: Mesh) -> None:
    """Changes reach each watch that asked for their kind; closing the
    last one unwatches; closing the node ends the iteration."""
    async def run() -> None:
        async with await peerd.connect(lab.a.sock) as a:
            await both_alive(a)
            every = await a.watch()
            members = await a.watch(services=False)
            services = await a.watch(members=False)

            async def next_of(w: MembershipWatch) -> dict[str, Any]:
                return await asyncio.wait_for(w.__anext__(), 5)

            await asyncio.to_thread(lab.echo_server, lab.b)
            registered = await next_of(every)
            assert tuple(registered[k] for k in
                         ("kind", "service", "group", "name")) == \
                ("service-registered", "echo", "", "b")
            assert isinstance(registered["time"], int)
            assert "op" not in registered and "lost" not in registered
            assert await next_of(services) == registered

            await asyncio.to_thread(lab.b.stop)
            assert [(await next_of(every))["kind"] for _ in range(2)] == \
                ["member-left", "service-withdrawn"]
            left = await next_of(members)       # not service-registered
            assert (left["kind"], left["name"]) == ("member-left", "b")
            withdrawn = await next_of(services)  # not member-left
            assert withdrawn["kind"] == "service-withdrawn"

            for w in (every, members, services):
                await w.close()
            with pytest.raises(StopAsyncIteration):
                await every.__anext__()
            with pytest.raises(peerd.NotFound):
                await a.request("unwatch")      # none is left
            with pytest.raises(peerd.InvalidArgument):
                await a.watch(members=False, services=False)

            last = await a.watch()
        # Closing the node ends what still watches.
        assert [c async for c in last] == []

    asyncio.run(asyncio.wait_for(run(), 20))


def test_watch_raises_what_ended_the_node(lab: Mesh) -> None:
    async def run() -> None:
        node = await peerd.connect(lab.a.sock, reconnect=False)
        watch = await node.watch()
        await asyncio.to_thread(lab.a.stop)
        # b may still be joining: its changes can come before the end.
        with pytest.raises(peerd.Unavailable, match="closed"):
            while True:
                await asyncio.wait_for(watch.__anext__(), 5)
        await watch.close()
        await node.close()

    asyncio.run(asyncio.wait_for(run(), 10))


def test_watch_counts_what_it_drops(tmp_base: Path) -> None:
    """A MembershipWatch holds at most queue changes; those dropped past it are
    added to the next one's lost, with the daemon's own count; a
    malformed change is dropped."""
    path = str(tmp_base / "fake.sock")
    statuses = 0

    def change(n: int, **more: Any) -> dict[str, Any]:
        return {"op": "change", "kind": "member-update", "node": f"n{n}",
                "name": f"n{n}", "incarnation": n, "time": n, **more}

    async def answer(req: dict[str, Any], w: asyncio.StreamWriter) -> None:
        nonlocal statuses
        result: Any = {}
        if req["op"] == "watch":
            result = {"members": True, "services": False}
        elif req["op"] == "status":
            # Changes first: when the reply is in, so are they.
            statuses += 1
            before = ([change(1), {"op": "change", "kind": 5},
                       change(2), change(3), change(4)]
                      if statuses == 1 else [change(5, lost=1)])
            for msg in before:
                w.write(frame(msg))
        w.write(reply(req, result))

    async def run() -> None:
        async with await fake_daemon(path, answer):
            async with await peerd.connect(path) as node:
                watch = await node.watch(services=False, queue=1)
                await node.status()
                first = await watch.__anext__()
                assert first["node"] == "n1" and "lost" not in first
                await node.status()
                fifth = await watch.__anext__()
                assert fifth["node"] == "n5" and fifth["lost"] == 4
                await watch.close()

    asyncio.run(asyncio.wait_for(run(), 5))
