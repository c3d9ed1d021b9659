# SPDX-License-Identifier: ISC
"""test_api.py: the public API checks its arguments the same way across
features (a bad number of seconds or a bad queue is InvalidArgument,
before anything is sent), and numbers in results that no float holds
are ProtocolErrors."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest

import peerd
from conftest import fake_daemon, reply

BAD_SECONDS: list[Any] = [math.nan, math.inf, -math.inf, 10**400, 0, -1,
                          "5", True, None]


def test_bad_seconds_and_queues_are_invalid_argument(tmp_base: Path) -> None:
    async def run() -> None:
        for t in BAD_SECONDS:
            with pytest.raises(peerd.InvalidArgument):
                await peerd.connect(str(tmp_base / "none.sock"), timeout=t)
        # Never opened: every check comes before the daemon is asked.
        node = peerd.Node(str(tmp_base / "none.sock"))
        for t in BAD_SECONDS:
            makers: list[Callable[[], Any]] = [
                lambda: node.call("svc.m", timeout=t),
                lambda: node.notify("svc.m", timeout=t),
                lambda: node.call_all("svc.m", timeout=t),
                lambda: node.proxy("svc", timeout=t),
                lambda: node.kv.get("k", timeout=t),
                lambda: node.kv.put("k", 1, timeout=t),
                lambda: node.ping("b", timeout=t),
            ]
            if t is not None:       # None: no ttl
                makers.append(lambda: node.kv.put("k", 1, ttl=t))
            for make in makers:
                with pytest.raises(peerd.InvalidArgument):
                    got = make()
                    if isinstance(got, Awaitable):
                        await got
        bad_queues: list[Any] = [0, -1, True, 1.5, "8"]
        for q in bad_queues:
            with pytest.raises(peerd.InvalidArgument):
                node.subscribe("t", queue=q)
            with pytest.raises(peerd.InvalidArgument):
                node.kv.watch("p", queue=q)
            with pytest.raises(peerd.InvalidArgument):
                await node.watch(queue=q)

    asyncio.run(asyncio.wait_for(run(), 5))


def test_numbers_no_float_holds_are_protocol_errors(tmp_base: Path) -> None:
    path = str(tmp_base / "fake.sock")
    results: dict[str, Any] = {
        "kv_get": {"value": 1, "version": 1, "writer": "w",
                   "expires": 10**400},
        "ping": {"rtt_us": 10**400},
        "call": {"answers": 10**5000},
    }

    async def answer(req: dict[str, Any], w: asyncio.StreamWriter) -> None:
        w.write(reply(req, results[req["op"]]))

    async def run() -> None:
        async with await fake_daemon(path, answer):
            async with await peerd.connect(path) as node:
                with pytest.raises(peerd.ProtocolError, match="expires"):
                    await node.kv.item("k")
                with pytest.raises(peerd.ProtocolError, match="ping"):
                    await node.ping("b")
                for count in (10**5000, -1, True):
                    results["call"] = {"answers": count}
                    with pytest.raises(peerd.ProtocolError,
                                       match="fan-out"):
                        async for _ in node.call_all("s.m"):
                            pass
                assert node.connected

    asyncio.run(asyncio.wait_for(run(), 5))


def test_sync_proxy_names_methods_as_the_async_one() -> None:
    calls: list[tuple[Any, ...]] = []

    class Node:
        def call_method(self, *args: Any, **kw: Any) -> str:
            calls.append((*args, kw))
            return "ok"

    stub: Any = Node()
    proxies: list[Any] = [peerd.SyncProxy(stub, "cam", timeout=2, to="b"),
                          peerd.Proxy(stub, "cam", timeout=2, to="b")]
    for proxy in proxies:
        assert proxy["stats.reset"](1) == "ok"
        assert proxy["_private"]() == "ok"
        assert proxy.zoom(2, 3) == "ok"
        with pytest.raises(AttributeError, match="proxy"):
            proxy._hidden
        with pytest.raises(TypeError):
            proxy[1]
    assert calls == [("cam", "stats.reset", 1, {"timeout": 2, "to": "b"}),
                     ("cam", "_private", {"timeout": 2, "to": "b"}),
                     ("cam", "zoom", 2, 3, {"timeout": 2, "to": "b"})] * 2
