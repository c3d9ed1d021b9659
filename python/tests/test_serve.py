# SPDX-License-Identifier: ISC
"""test_serve.py: Python services on daemon b called from daemon a (by
Python, peerctl and a libpeer C client), and against a fake daemon for
what a real one cannot be made to send."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from pathlib import Path
from typing import Any, AsyncIterator

import pytest

import conftest
import peerd
from conftest import PEERCTL, ROOT, Mesh, reply

ECHO_CALL = os.environ.get("ECHO_CALL",
                           str(ROOT / "build" / "examples" / "echo_call"))


async def wait_listed(node: peerd.Node, service: str, count: int = 1,
                      seconds: float = 10) -> None:
    """Waits until node's daemon lists count providers of service."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while True:
        r = await node.request("services", service=service)
        if len(r["services"]) == count:
            return
        if loop.time() > end:
            pytest.fail(f"{count} providers of {service} not listed "
                        f"within {seconds:g} s: {r!r}")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def serving(mesh: Mesh) -> AsyncIterator[tuple[peerd.Node, peerd.Node]]:
    """A serving node on b running serve_forever, and a calling node on
    a; serve_forever must not have failed when the block ends."""
    server = await peerd.connect(mesh.b.sock)
    caller = await peerd.connect(mesh.a.sock)
    forever = asyncio.create_task(server.serve_forever())
    try:
        yield server, caller
        assert not forever.done(), forever
    finally:
        await caller.close()
        await server.close()
        await asyncio.wait_for(forever, 2)


async def run_tool(*argv: str) -> tuple[int, str, str]:
    """Runs a command without blocking the loop the service runs on."""
    p = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL)
    out, err = await asyncio.wait_for(p.communicate(), 10)
    assert p.returncode is not None
    return p.returncode, out.decode(), err.decode()


def test_function_service_called_from_python_peerctl_and_c(
        mesh: Mesh) -> None:
    for tool in (PEERCTL, ECHO_CALL):
        if not os.access(tool, os.X_OK):
            pytest.skip(f"{tool} not built (make -j2)")

    async def run() -> None:
        async with serving(mesh) as (server, caller):
            @server.service("calc")
            def add(a: int, b: int) -> int:
                return a + b

            @server.service("calc")
            async def echo(x: Any) -> Any:
                return x

            @server.service("calc")
            def spread(*args: Any) -> list[Any]:
                return list(args)

            assert add(1, 2) == 3               # returned unchanged
            await wait_listed(caller, "calc")
            assert await caller.call("calc.add", 2, 3) == 5
            assert await caller.call("calc.echo", "hi") == "hi"
            # How args map to parameters: none, one item, an array.
            assert await caller.call("calc.spread") == []
            assert await caller.call("calc.spread", {"k": 1}) == [{"k": 1}]
            assert await caller.call("calc.spread", 1, 2) == [1, 2]
            # A single list is spread too: it is an array on the wire.
            assert await caller.call("calc.spread", [1, 2]) == [1, 2]
            assert await caller.call("calc.spread", [[1, 2]]) == [[1, 2]]

            rc, out, err = await run_tool(PEERCTL, "-s", mesh.a.sock,
                                          "call", "calc.add", "2", "3")
            assert (rc, out.strip()) == (0, "5"), err
            rc, out, err = await run_tool(PEERCTL, "-s", mesh.a.sock,
                                          "call", "calc.nosuch")
            assert rc == 1 and "UNIMPLEMENTED" in err, (out, err)
            rc, out, err = await run_tool(ECHO_CALL, "-s", mesh.a.sock,
                                          "calc", "echo", "from C")
            assert (rc, out.strip()) == (0, "from C"), err

    asyncio.run(asyncio.wait_for(run(), 30))


class Store:
    """A class service: a sync and an async method, and private parts."""

    def __init__(self) -> None:
        self.items: dict[str, Any] = {}

    def put(self, key: str, value: Any) -> dict[str, Any]:
        self.items[key] = value
        inv = peerd.current_call()
        return {"thread": threading.current_thread().name,
                "method": inv.method, "caller": inv.caller,
                "group": inv.group, "oneway": inv.oneway,
                "verified": inv.verified}

    async def get(self, key: str) -> Any:
        await asyncio.sleep(0)
        return self.items[key]

    def _hidden(self) -> None:
        raise AssertionError("a private method was served")

    @property
    def size(self) -> int:
        raise AssertionError("a property was read")


def test_class_service_sync_and_async(mesh: Mesh) -> None:
    async def run() -> None:
        async with serving(mesh) as (server, caller):
            assert server.service("store", group="g1")(Store) is Store
            await wait_listed(caller, "store")
            info = await caller.call("store.put", "k", [1, 2])
            # The sync method ran in a thread, and saw its call.
            assert info["thread"] != threading.current_thread().name
            assert info == {"thread": info["thread"], "method": "put",
                            "caller": caller.info["node"], "group": "g1",
                            "oneway": False, "verified": True}
            assert await caller.call("store.get", "k") == [1, 2]
            with pytest.raises(peerd.Unknown) as e:
                await caller.call("store.get", "nokey")
            assert e.value.message == "KeyError: 'nokey'"
            for private in ("_hidden", "size", "__init__"):
                with pytest.raises(peerd.Unimplemented,
                                   match=f"no method '{private}'"):
                    await caller.call(f"store.{private}")

    asyncio.run(asyncio.wait_for(run(), 20))


class Unencodable:
    pass


class AppError(Exception):
    pass


def test_errors_map_to_codes(mesh: Mesh) -> None:
    async def run() -> None:
        async with serving(mesh) as (server, caller):
            async def fail(code: str, message: str, context: Any) -> None:
                raise peerd.CODES[code](message, context)

            def crash(text: str) -> None:
                raise ValueError(text)

            def custom() -> None:
                raise AppError()

            await server.register("err", {
                "fail": fail, "crash": crash, "custom": custom,
                "unencodable": lambda: Unencodable(),
                "add": lambda a, b: a + b})
            await wait_listed(caller, "err")
            for code, cls in peerd.CODES.items():
                ctx = {"code": code, "n": [1, 2.5, None]}
                with pytest.raises(cls) as e:
                    await caller.call("err.fail", code, f"msg {code}", ctx)
                assert type(e.value) is cls
                assert e.value.message == f"msg {code}"
                assert e.value.context == ctx
            # No context: none arrives.
            with pytest.raises(peerd.NotFound) as e:
                await caller.call("err.fail", "NOT_FOUND", "gone", None)
            assert e.value.context is None
            # Unhandled: UNKNOWN, its type and message, no traceback.
            with pytest.raises(peerd.Unknown) as e:
                await caller.call("err.crash", "bad value")
            assert e.value.message == "ValueError: bad value"
            assert e.value.context == {"type": "ValueError",
                                       "message": "bad value"}
            with pytest.raises(peerd.Unknown) as e:
                await caller.call("err.custom")
            assert e.value.message == "AppError"
            assert e.value.context == {"type": "test_serve.AppError",
                                       "message": ""}
            with pytest.raises(peerd.Internal,
                               match="err.unencodable: the result cannot "
                                     "be encoded"):
                await caller.call("err.unencodable")
            with pytest.raises(peerd.Unimplemented,
                               match="service err has no method 'nosuch'"):
                await caller.call("err.nosuch")
            # Arguments that do not fit the signature: not the handler's.
            with pytest.raises(peerd.InvalidArgument,
                               match="err.add: missing a required"):
                await caller.call("err.add", 1)
            assert await caller.call("err.add", 1, 2) == 3

    asyncio.run(asyncio.wait_for(run(), 20))


def test_deadline_reaches_the_handler(mesh: Mesh) -> None:
    async def run() -> None:
        async with serving(mesh) as (server, caller):
            @server.service("dl")
            async def remaining() -> list[float]:
                inv = peerd.current_call()
                return [inv.timeout, inv.remaining()]

            @server.service("dl")
            def remaining_sync() -> list[float]:
                inv = peerd.current_call()
                return [inv.timeout, inv.remaining()]

            await wait_listed(caller, "dl")
            for method in ("remaining", "remaining_sync"):
                timeout, left = await caller.call(f"dl.{method}", timeout=3)
                assert timeout == 3.0
                assert 2.5 < left <= 3.0, left

    asyncio.run(asyncio.wait_for(run(), 20))


def test_cancellation_reaches_the_handler(mesh: Mesh) -> None:
    async def run() -> None:
        heard: list[str] = []
        started = asyncio.Event()
        ended = asyncio.Event()
        sync_ended = threading.Event()

        async with serving(mesh) as (server, caller):
            @server.service("slow")
            async def wait(tag: str) -> None:
                started.set()
                try:
                    await asyncio.sleep(30)
                except asyncio.CancelledError:
                    heard.append(tag)
                    raise
                finally:
                    ended.set()

            @server.service("slow")
            def poll() -> None:
                # A thread cannot be interrupted: it polls instead.
                inv = peerd.current_call()
                for _ in range(500):
                    if inv.cancelled:
                        sync_ended.set()
                        return
                    threading.Event().wait(0.01)

            await wait_listed(caller, "slow")
            # The caller's task is cancelled: the handler's is too.
            task = asyncio.create_task(caller.call("slow.wait", "task",
                                                   timeout=30))
            await asyncio.wait_for(started.wait(), 5)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.wait_for(ended.wait(), 5)
            assert heard == ["task"]
            # The deadline passes: the daemon cancels it.
            started.clear()
            ended.clear()
            with pytest.raises(peerd.DeadlineExceeded):
                await caller.call("slow.wait", "deadline", timeout=0.3)
            await asyncio.wait_for(ended.wait(), 5)
            assert heard == ["task", "deadline"]
            # A sync handler sees it in current_call().cancelled.
            with pytest.raises(peerd.DeadlineExceeded):
                await caller.call("slow.poll", timeout=0.3)
            assert await asyncio.to_thread(sync_ended.wait, 5)

    asyncio.run(asyncio.wait_for(run(), 20))


def test_concurrency_is_bounded(mesh: Mesh) -> None:
    async def run() -> None:
        in_flight = 0
        peak = 0
        gate = asyncio.Event()

        async with serving(mesh) as (server, caller):
            async def hold() -> int:
                nonlocal in_flight, peak
                in_flight += 1
                peak = max(peak, in_flight)
                try:
                    await gate.wait()
                finally:
                    in_flight -= 1
                return 1

            await server.register("busy", {"hold": hold}, concurrency=3)
            await server.register("probe", {"ping": lambda: "pong"})
            await wait_listed(caller, "busy")
            await wait_listed(caller, "probe")
            calls = [asyncio.create_task(caller.call("busy.hold"))
                     for _ in range(10)]
            await asyncio.sleep(0)      # each call's frame is written
            # The probe's invoke comes after the ten on b's connection:
            # once it is answered, all ten have arrived.
            assert await caller.call("probe.ping") == "pong"
            assert (in_flight, peak) == (3, 3)
            gate.set()
            assert await asyncio.wait_for(asyncio.gather(*calls), 5) \
                == [1] * 10
            assert (in_flight, peak) == (0, 3)

    asyncio.run(asyncio.wait_for(run(), 20))


def test_notify_runs_the_handler(mesh: Mesh) -> None:
    async def run() -> None:
        got: asyncio.Queue[tuple[Any, bool]] = asyncio.Queue(4)
        async with serving(mesh) as (server, caller):
            @server.service("sink")
            async def note(x: Any) -> str:
                await got.put((x, peerd.current_call().oneway))
                return "dropped"

            await wait_listed(caller, "sink")
            r = await caller.request("notify", service="sink",
                                     method="note", args="n1")
            assert r == {"sent": 1}
            assert await asyncio.wait_for(got.get(), 5) == ("n1", True)

    asyncio.run(asyncio.wait_for(run(), 20))


def test_register_errors_and_unregister(mesh: Mesh) -> None:
    async def run() -> None:
        async with await peerd.connect(mesh.b.sock) as server:
            with pytest.raises(peerd.InvalidArgument):
                await server.register("Bad Name", {"m": lambda: 1})
            with pytest.raises(peerd.InvalidArgument):
                await server.register("empty", object())
            with pytest.raises(peerd.InvalidArgument):
                await server.register("cls", Store)
            await server.register("svc", Store())
            with pytest.raises(peerd.AlreadyExists):
                await server.register("svc", {"m": lambda: 1})
            with pytest.raises(peerd.AlreadyExists):
                server.service("svc")(Store)
            # Another group is another registration.
            await server.register("svc", Store(), group="g")
            await wait_listed(server, "svc", 2)
            await server.unregister("svc", group="g")
            await server.unregister("svc")
            await wait_listed(server, "svc", 0)
            with pytest.raises(peerd.NotFound):
                await server.unregister("svc")

            # A decorated service the daemon refuses: serve_forever
            # raises its error.
            @server.service("Bad Name")
            def m() -> None:
                pass
            with pytest.raises(peerd.InvalidArgument, match="service"):
                await asyncio.wait_for(server.serve_forever(), 5)

    asyncio.run(asyncio.wait_for(run(), 20))


def test_decorated_before_open_registers_on_serve_forever(
        mesh: Mesh) -> None:
    async def run() -> None:
        server = peerd.Node(mesh.b.sock)

        @server.service("early")
        def hi() -> str:
            return "hi"
        await server.open()
        forever = asyncio.create_task(server.serve_forever())
        try:
            async with await peerd.connect(mesh.a.sock) as caller:
                await wait_listed(caller, "early")
                assert await caller.call("early.hi") == "hi"
        finally:
            await server.close()
            await asyncio.wait_for(forever, 2)

    asyncio.run(asyncio.wait_for(run(), 20))


def test_decorated_from_another_thread(mesh: Mesh) -> None:
    async def run() -> None:
        async with serving(mesh) as (server, caller):
            def decorate() -> None:
                @server.service("threaded")
                def hi() -> str:
                    return "hi"
            await asyncio.to_thread(decorate)
            await wait_listed(caller, "threaded")
            assert await caller.call("threaded.hi") == "hi"

    asyncio.run(asyncio.wait_for(run(), 20))


def test_registered_again_after_a_daemon_restart(mesh: Mesh) -> None:
    async def run() -> None:
        started = asyncio.Event()
        cancelled = asyncio.Event()
        async with serving(mesh) as (server, caller):
            @server.service("calc")
            async def add(a: int, b: int) -> int:
                return a + b

            @server.service("calc")
            async def wait() -> None:
                started.set()
                try:
                    await asyncio.sleep(30)
                except asyncio.CancelledError:
                    cancelled.set()
                    raise

            await wait_listed(caller, "calc")
            pending = asyncio.create_task(caller.call("calc.wait",
                                                      timeout=30))
            await asyncio.wait_for(started.wait(), 5)
            # The connection drops under an open invocation: its task
            # is cancelled, and the caller hears UNAVAILABLE.
            await asyncio.to_thread(mesh.b.stop)
            await asyncio.wait_for(cancelled.wait(), 5)
            with pytest.raises(peerd.Unavailable):
                await asyncio.wait_for(pending, 10)
            await asyncio.to_thread(mesh.b.start, mesh.a)
            await server.wait_connected(10)
            await wait_listed(server, "calc")
            await wait_listed(caller, "calc")
            assert await caller.call("calc.add", 2, 3, timeout=5) == 5

    asyncio.run(asyncio.wait_for(run(), 30))


# -- a fake daemon, for messages a real one does not send ----------------

class FakeDaemon(conftest.FakeDaemon):
    """Answers hello and register; queues every other frame the client
    sends."""

    hello = {"protocol": 1, "node": "n"}

    def __init__(self) -> None:
        super().__init__()
        self.frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue(64)

    async def handle(self, req: dict[str, Any],
                     w: asyncio.StreamWriter) -> None:
        if req.get("op") == "register":
            w.write(reply(req, {"service": req["service"]}))
        else:
            await self.frames.put(req)

    async def next(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.frames.get(), 2)


def test_oneway_malformed_and_cancelled_with_a_fake_daemon(
        tmp_base: Path) -> None:
    path = str(tmp_base / "fake.sock")

    async def run() -> None:
        fake = FakeDaemon()
        noted = asyncio.Event()
        waiting = asyncio.Event()
        called_off = asyncio.Event()

        async def note(x: Any) -> str:
            noted.set()
            return "no reply for this"

        async def wait() -> str:
            waiting.set()
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                called_off.set()
                return "swallowed, and still no reply"
            return "slept"

        async def echo(x: Any) -> Any:
            return x

        async def verified() -> bool:
            return peerd.current_call().verified

        invoke: dict[str, Any] = {"op": "invoke", "service": "svc",
                                  "timeout": 5000, "from": "caller"}
        async with await asyncio.start_unix_server(fake.serve, path):
            async with await peerd.connect(path) as node:
                await node.register("svc", {"note": note, "wait": wait,
                                            "echo": echo,
                                            "verified": verified})
                # One-way: it runs, and no reply is sent.
                fake.send(**invoke, call=1, method="note", args=1,
                          oneway=True)
                await asyncio.wait_for(noted.wait(), 2)
                fake.send(**invoke, call=2, method="echo", args="e2")
                assert await fake.next() == {"op": "reply", "call": 2,
                                             "result": "e2"}
                # Malformed: without a readable call number ignored,
                # with one refused; cancelled for a call not open, or
                # malformed, ignored.
                fake.send(op="invoke", service="svc", method="echo")
                fake.send(**invoke, call="3", method="echo")
                fake.send(**{**invoke, "service": 7}, call=4, method="e")
                fake.send(**{**invoke, "timeout": -1}, call=5, method="echo")
                fake.send(**invoke, call=6, method="echo", oneway="yes")
                fake.send(**{**invoke, "service": "nosuch"}, call=7,
                          method="echo")
                fake.send(op="cancelled", call="x")
                fake.send(op="cancelled", call=999, reason="r")
                for call, code in ((4, "INVALID_ARGUMENT"),
                                   (5, "INVALID_ARGUMENT"),
                                   (6, "INVALID_ARGUMENT"),
                                   (7, "UNIMPLEMENTED")):
                    reply = await fake.next()
                    assert (reply["call"], reply["error"]["code"]) == \
                        (call, code), reply
                fake.send(**invoke, call=8, method="echo", args="e8")
                assert (await fake.next())["call"] == 8
                # verified: as the daemon says; absent (an older
                # daemon) is False; not a bool is malformed.
                for call, flag in ((11, {"verified": True}),
                                   (12, {"verified": False}), (13, {})):
                    fake.send(**invoke, **flag, call=call,
                              method="verified")
                    assert await fake.next() == {
                        "op": "reply", "call": call,
                        "result": flag.get("verified", False)}
                fake.send(**invoke, call=14, method="verified",
                          verified=1)
                reply = await fake.next()
                assert (reply["call"], reply["error"]["code"],
                        reply["error"]["message"]) == \
                    (14, "INVALID_ARGUMENT",
                     "malformed invoke from peerd: verified"), reply
                # Cancelled: the task is, and a value it returns anyway
                # is not sent.
                fake.send(**invoke, call=9, method="wait")
                await asyncio.wait_for(waiting.wait(), 2)
                fake.send(op="cancelled", call=9,
                          reason="cancelled by the caller")
                await asyncio.wait_for(called_off.wait(), 2)
                fake.send(**invoke, call=10, method="echo", args="e10")
                assert await fake.next() == {"op": "reply", "call": 10,
                                             "result": "e10"}
                assert fake.frames.empty()

    asyncio.run(asyncio.wait_for(run(), 5))
