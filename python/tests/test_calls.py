# SPDX-License-Identifier: ISC
"""test_calls.py: calls, proxies, notify, fan-out (call_all) and
cancelling them, from Python through two daemons to the C echo service
(examples/echo_server.c) and to providers served by hand with raw
invoke messages."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any, Callable

import pytest

import peerd
from conftest import Mesh
from peerd._conn import Connection

MIB = 1 << 20


class RawProvider:
    """A client that registers a service and serves it by hand: it
    keeps the invoke and cancelled messages it gets, and answers an
    invoke with answer(invoke) ({"result": x} or {"error": e}) unless
    answer is None or gives None."""

    def __init__(self, sock: str, service: str,
                 answer: Callable[[dict[str, Any]],
                                  dict[str, Any] | None] | None = None
                 ) -> None:
        self.sock = sock
        self.service = service
        self.answer = answer
        self.invokes: asyncio.Queue[dict[str, Any]] = asyncio.Queue(100)
        self.cancels: asyncio.Queue[dict[str, Any]] = asyncio.Queue(100)
        self.conn = Connection(sock, reconnect=False)

    async def start(self) -> "RawProvider":
        self.conn.on_message("invoke", self._on_invoke)
        self.conn.on_message("cancelled", self.cancels.put_nowait)
        await self.conn.open()
        await self.conn.request("register", service=self.service)
        return self

    def _on_invoke(self, msg: dict[str, Any]) -> None:
        self.invokes.put_nowait(msg)
        reply = self.answer(msg) if self.answer is not None else None
        if reply is not None:
            self.conn.send("reply", call=msg["call"], **reply)

    async def next_invoke(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.invokes.get(), 5)

    async def next_cancel(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.cancels.get(), 5)


async def providers(mesh: Mesh, service: str, count: int) -> None:
    """Waits until daemon a lists count providers of service."""
    await asyncio.to_thread(mesh.wait_providers, mesh.a, service, count)


def test_call_and_proxy_c_echo_through_two_daemons(mesh: Mesh) -> None:
    mesh.echo_server(mesh.b)
    mesh.wait_providers(mesh.a, "echo", 1)

    async def run() -> None:
        async with await peerd.connect(mesh.a.sock) as node:
            big = bytes(range(256)) * (MIB // 256)
            nested = {"s": "t", "b": b"\x00\xff", "l": [1, -2, 2.5, None],
                      "m": {"k": [True, False]}}
            # By call: no args, one, several; bytes, maps, 1 MiB.
            assert await node.call("echo.echo") is None
            assert await node.call("echo.echo", b"\x01") == b"\x01"
            assert await node.call("echo.echo", nested) == nested
            assert await node.call("echo.echo", 1, "two", b"3") == \
                [1, "two", b"3"]
            assert await node.call("echo.echo", [1, 2]) == [1, 2]
            assert await node.call("echo.echo", big, timeout=10) == big
            assert await node.call_method("echo", "echo", "m") == "m"

            # By proxy: the same calls, with the proxy's timeout and to.
            echo = node.proxy("echo", timeout=10, to="b")
            assert await echo.echo() is None
            assert await echo.echo(nested) == nested
            assert await echo.echo(1, 2, 3) == [1, 2, 3]
            assert await echo.echo(big) == big
            assert await echo.whoami() == "b"
            assert await echo["echo"](b"x") == b"x"
            # A method name that is no identifier goes through intact.
            with pytest.raises(peerd.Unimplemented,
                               match="no method stats.reset"):
                await echo["stats.reset"]()
            with pytest.raises(peerd.Unknown) as e:
                await echo.fail({"why": 1})
            assert e.value.context == {"why": 1}
            # The proxy's to restricts: only b provides echo.
            with pytest.raises(peerd.NotFound):
                await node.proxy("echo", to="a").echo(1)

            # "_" names are not methods; the proxy says what it is.
            with pytest.raises(AttributeError, match="proxy\\['_x'\\]"):
                echo._x
            assert not hasattr(echo, "__await__")
            assert repr(echo) == (f"<Proxy 'echo' via {mesh.a.sock}, "
                                  "timeout=10 s, to='b'>")
            assert "'whoami'" in repr(echo.whoami)
            with pytest.raises(peerd.InvalidArgument, match="timeout"):
                node.proxy("echo", timeout=0)
            with pytest.raises(TypeError):
                echo[1]     # type: ignore[index]
            # Calling without awaiting makes no call.
            coro = echo.echo(1)
            assert asyncio.iscoroutine(coro)
            coro.close()

    asyncio.run(asyncio.wait_for(run(), 20))


def test_timeouts_are_deadlines(mesh: Mesh) -> None:
    mesh.echo_server(mesh.b)
    mesh.wait_providers(mesh.a, "echo", 1)

    async def run() -> None:
        async with await peerd.connect(mesh.a.sock) as node:
            start = time.monotonic()
            with pytest.raises(peerd.DeadlineExceeded):
                await node.call("echo.sleep", 3000, timeout=0.3)
            with pytest.raises(peerd.DeadlineExceeded):
                await node.proxy("echo", timeout=0.3).sleep()
            assert time.monotonic() - start < 2
            # A sleep within the deadline is answered.
            assert await node.call("echo.sleep", 50, timeout=2) is None
            with pytest.raises(peerd.InvalidArgument, match="timeout"):
                await node.call("echo.echo", timeout=0.0001)
            with pytest.raises(peerd.InvalidArgument, match="timeout"):
                await node.call("echo.echo", timeout=86_401)

    asyncio.run(asyncio.wait_for(run(), 20))


def test_notify_reaches_the_provider(mesh: Mesh) -> None:
    async def run() -> None:
        at_a = await RawProvider(mesh.a.sock, "sink").start()
        at_b = await RawProvider(mesh.b.sock, "sink").start()
        await providers(mesh, "sink", 2)
        async with await peerd.connect(mesh.a.sock) as node:
            assert await node.notify("sink.hit", 1, b"x", to="b",
                                     timeout=7) == 1
            inv = await at_b.next_invoke()
            assert (inv["service"], inv["method"], inv["args"],
                    inv["timeout"], inv["oneway"], inv["from"]) == \
                ("sink", "hit", [1, b"x"], 7000, True, node.info["node"])
            # One provider without all: this node's own is chosen first.
            assert await node.notify("sink.one") == 1
            inv = await at_a.next_invoke()
            assert inv["method"] == "one" and "args" not in inv
            # With all, every provider node gets it.
            assert await node.notify("sink.every", {"k": 1}, all=True) == 2
            for p in (at_a, at_b):
                inv = await p.next_invoke()
                assert (inv["method"], inv["args"]) == ("every", {"k": 1})
            assert at_a.invokes.empty() and at_b.invokes.empty()
            with pytest.raises(peerd.NotFound):
                await node.notify("nosuch.hit")
            with pytest.raises(peerd.InvalidArgument):
                await node.notify("sink")
        await at_a.conn.close()
        await at_b.conn.close()

    asyncio.run(asyncio.wait_for(run(), 20))


def test_call_all_over_two_echo_servers(mesh: Mesh) -> None:
    mesh.echo_server(mesh.a)
    mesh.echo_server(mesh.b)
    mesh.wait_providers(mesh.a, "echo", 2)

    async def run() -> None:
        async with await peerd.connect(mesh.a.sock) as node:
            answers = [a async for a in node.call_all("echo.whoami")]
            assert sorted(a.name for a in answers) == ["a", "b"]
            assert all(a.ok and a.value() == a.name for a in answers)
            nodes = {a.name: a.node for a in answers}
            assert nodes["a"] == node.info["node"]
            assert len(nodes["b"]) == 52 and nodes["b"] != nodes["a"]

            # A provider's failure is in its answer, not raised.
            answers = [a async for a in node.call_all("echo.fail", [7])]
            assert len(answers) == 2
            for a in answers:
                assert not a.ok and isinstance(a.error, peerd.Unknown)
                assert a.error.context == [7]
                with pytest.raises(peerd.Unknown, match="failed on purpose"):
                    a.value()
            assert "Unknown('failed on purpose'" in repr(answers[0])

            # to restricts the providers.
            answers = [a async for a in node.call_all("echo.echo", 1, 2,
                                                      to="b")]
            assert [(a.name, a.node, a.result) for a in answers] == \
                [("b", nodes["b"], [1, 2])]

            # At the deadline the unanswered come as DeadlineExceeded.
            start = time.monotonic()
            answers = [a async for a in node.call_all("echo.sleep",
                                                      timeout=0.3)]
            assert time.monotonic() - start < 2
            assert sorted(a.name for a in answers) == ["a", "b"]
            assert all(isinstance(a.error, peerd.DeadlineExceeded)
                       for a in answers)

            # Errors of the call itself are raised.
            with pytest.raises(peerd.NotFound):
                async for _ in node.call_all("nosuch.m"):
                    pass
            with pytest.raises(peerd.NotFound):
                async for _ in node.call_all("echo.echo", to="nosuch"):
                    pass
            with pytest.raises(peerd.InvalidArgument):
                node.call_all("echo")
            with pytest.raises(peerd.InvalidArgument):
                node.call_all("echo.echo", timeout=0)
            assert await node.call("echo.echo", "ok") == "ok"

    asyncio.run(asyncio.wait_for(run(), 20))


def test_call_all_one_provider_fails(mesh: Mesh) -> None:
    def refuse(inv: dict[str, Any]) -> dict[str, Any]:
        return {"error": {"code": "NOT_FOUND", "message": "nope",
                          "context": [inv["args"]]}}

    async def run() -> None:
        await asyncio.to_thread(mesh.echo_server, mesh.a)
        failing = await RawProvider(mesh.b.sock, "echo", refuse).start()
        await providers(mesh, "echo", 2)
        async with await peerd.connect(mesh.a.sock) as node:
            answers = {a.name: a async for a in node.call_all("echo.echo",
                                                               "hi")}
            assert answers["a"].value() == "hi"
            err = answers["b"].error
            assert isinstance(err, peerd.NotFound)
            assert (err.message, err.context) == ("nope", ["hi"])
        await failing.conn.close()

    asyncio.run(asyncio.wait_for(run(), 20))


def test_cancelling_a_call_all_reaches_the_provider(mesh: Mesh) -> None:
    """A fan-out over a fast provider (echo_server on a) and one that
    never answers (on b): the fast answer comes at once, and closing
    the iteration, or cancelling the task iterating it, cancels the
    call at the slow provider."""
    async def run() -> None:
        await asyncio.to_thread(mesh.echo_server, mesh.a)
        silent = await RawProvider(mesh.b.sock, "echo").start()
        await providers(mesh, "echo", 2)
        async with await peerd.connect(mesh.a.sock) as node:
            # aclose() after the first answer.
            start = time.monotonic()
            answers = node.call_all("echo.echo", "x", timeout=30)
            first = await anext(answers)
            assert (first.name, first.result) == ("a", "x")
            assert time.monotonic() - start < 5     # not at the deadline
            inv = await silent.next_invoke()
            await answers.aclose()
            cancel = await silent.next_cancel()
            assert cancel["call"] == inv["call"]
            assert cancel["reason"] == "cancelled by the caller"

            # Leaving an aclosing block early.
            async with contextlib.aclosing(
                    node.call_all("echo.echo", timeout=30)) as answers:
                async for a in answers:
                    break
            inv = await silent.next_invoke()
            assert (await silent.next_cancel())["call"] == inv["call"]

            # Cancelling the task that iterates.
            got: list[peerd.Answer] = []

            async def collect() -> None:
                async for a in node.call_all("echo.echo", timeout=30):
                    got.append(a)
            task = asyncio.create_task(collect())
            inv = await silent.next_invoke()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert (await silent.next_cancel())["call"] == inv["call"]

            # And a single call's task, cancelled, too.
            task = asyncio.create_task(node.call("echo.echo", to="b",
                                                 timeout=30))
            inv = await silent.next_invoke()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert (await silent.next_cancel())["call"] == inv["call"]

            assert await node.call("echo.echo", "after", to="a") == "after"
        await silent.conn.close()

    asyncio.run(asyncio.wait_for(run(), 20))
