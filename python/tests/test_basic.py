# SPDX-License-Identifier: ISC
"""test_basic.py: the Python client against real daemons (a C service
called through two of them) and against a fake daemon that breaks the
protocol."""

from __future__ import annotations

import asyncio
import struct
from pathlib import Path
from typing import Any, Callable

import pytest

import peerd
from conftest import HELLO, Mesh, frame, frame_raw, read_request, reply


def test_call_c_echo_through_two_daemons(mesh: Mesh) -> None:
    mesh.echo_server(mesh.b)
    mesh.wait_providers(mesh.a, "echo", 1)

    async def run() -> None:
        node = await peerd.connect(mesh.a.sock)
        try:
            assert node.info["name"] == "a"
            assert await node.call("echo.echo", "hello", timeout=5) == "hello"
            args = {"n": 1, "l": [1, 2.5, None], "b": b"\x00\xff"}
            assert await node.call("echo.echo", args, to="b") == args
            assert await node.call("echo.echo", 1, 2, 3) == [1, 2, 3]
            assert await node.call("echo.echo") is None
            assert await node.call("echo.whoami") == "b"
            # Pipelined: replies are matched by id, not by order.
            got = await asyncio.gather(*(node.call("echo.echo", i)
                                         for i in range(64)))
            assert got == list(range(64))
            # A cancelled call leaves the connection good: its CANCELLED
            # reply is dropped, and the cancel's too.
            task = asyncio.create_task(node.call("echo.sleep", 3000))
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert await node.call("echo.echo", "after") == "after"
        finally:
            await node.close()

    asyncio.run(asyncio.wait_for(run(), 20))


def test_call_errors_map_to_exceptions(mesh: Mesh) -> None:
    mesh.echo_server(mesh.b)
    mesh.wait_providers(mesh.a, "echo", 1)

    async def run() -> None:
        async with await peerd.connect(mesh.a.sock) as node:
            with pytest.raises(peerd.Unknown) as e:
                await node.call("echo.fail", {"why": "test"})
            assert e.value.message == "failed on purpose"
            assert e.value.context == {"why": "test"}
            with pytest.raises(peerd.Unimplemented):
                await node.call("echo.nosuch")
            with pytest.raises(peerd.NotFound):
                await node.call("nosuch.echo")
            with pytest.raises(peerd.DeadlineExceeded):
                await node.call("echo.sleep", 2000, timeout=0.2)
            with pytest.raises(peerd.InvalidArgument):
                await node.call("echo")
            # The connection is still good after errors.
            assert await node.call("echo.echo", "ok") == "ok"

    asyncio.run(asyncio.wait_for(run(), 20))


def test_no_daemon_is_unavailable(tmp_base: Path) -> None:
    with pytest.raises(peerd.Unavailable):
        asyncio.run(peerd.connect(str(tmp_base / "none.sock")))


async def _daemon_answering_once(path: str,
                                 answer: Callable[[int], bytes]
                                 ) -> asyncio.AbstractServer:
    """A Unix socket server that reads one request and writes
    answer(its id), raw, then keeps the connection open."""
    async def serve(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            req = await read_request(r)
            if req is None:
                return
            w.write(answer(req["id"]))
            await w.drain()
            await asyncio.sleep(30)
        finally:
            w.close()
    return await asyncio.start_unix_server(serve, path)


MALFORMED: dict[str, Callable[[int], bytes]] = {
    "length 0": lambda i: struct.pack(">I", 0),
    "over the maximum": lambda i: struct.pack(">I", 0xFFFFFFFF),
    "bad cbor": lambda i: frame_raw(b"\xff\xff\xff"),
    "not a map": lambda i: frame_raw(b"\x83\x01\x02\x03"),
    "trailing bytes": lambda i: frame_raw(
        b"\xa1\x62id" + bytes([i]) + b"\x00"),
    "non-text key": lambda i: frame_raw(b"\xa1\x01\x02"),
    "reply with result and error": lambda i: frame_raw(
        b"\xa3\x62id" + bytes([i]) + b"\x66result\xf6\x65error\xf6"),
    "neither id nor op": lambda i: frame_raw(b"\xa1\x61x\x01"),
    # true is not the id 1, nor the protocol 1.
    "reply with id true": lambda i: frame(
        {"id": True, "result": {"protocol": 1}}),
    "hello's result not a map": lambda i: frame({"id": i, "result": 1}),
    # An int whose repr raises ValueError (over 4300 digits).
    "reply with result and error, a long int": lambda i: frame(
        {"id": i, "result": 10 ** 5000, "error": None}),
    "truncated": lambda i: struct.pack(">I", 100) + b"\xa1",
    # Decoders of tags raise their own errors; so does a length that
    # cannot be allocated.
    "fraction over zero": lambda i: frame_raw(
        b"\xa2\x62id" + bytes([i]) + b"\x66result\xd8\x1e\x82\x01\x00"),
    "time out of range": lambda i: frame_raw(
        b"\xa2\x62id" + bytes([i]) + b"\x66result\xc1\xfb\x7f\xf0" + bytes(6)),
    "bytes longer than the frame": lambda i: frame_raw(
        b"\xa2\x62id" + bytes([i]) + b"\x66result\x5b" + bytes([0x10]) + bytes(7)),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_frame_is_a_clear_error(tmp_base: Path, case: str) -> None:
    path = str(tmp_base / "fake.sock")

    async def run() -> None:
        answer = MALFORMED[case]
        server: asyncio.AbstractServer
        if case == "truncated":
            # Close after half a frame: the client sees it end.
            async def serve(r: asyncio.StreamReader,
                            w: asyncio.StreamWriter) -> None:
                await r.readexactly(4)
                w.write(answer(1))
                await w.drain()
                w.close()
            server = await asyncio.start_unix_server(serve, path)
        else:
            server = await _daemon_answering_once(path, answer)
        async with server:
            with pytest.raises(peerd.ProtocolError) as e:
                await peerd.connect(path, timeout=5)
            assert "malformed" in str(e.value) or "truncated" in str(e.value)
            assert e.value.code == "INTERNAL"

    # A hang would be a failure: the client must notice within the bound.
    asyncio.run(asyncio.wait_for(run(), 3))


def test_connection_error_ends_requests_in_flight(tmp_base: Path) -> None:
    """An id-0 error ends every request in flight with its code."""
    path = str(tmp_base / "fake.sock")

    def answer(i: int) -> bytes:
        return frame({"id": 0, "error": {
            "code": "RESOURCE_EXHAUSTED", "message": "too many clients"}})

    async def run() -> None:
        async with await _daemon_answering_once(path, answer):
            with pytest.raises(peerd.ResourceExhausted,
                               match="too many clients"):
                await peerd.connect(path, timeout=5)

    asyncio.run(asyncio.wait_for(run(), 3))


def test_error_from_wire() -> None:
    e = peerd.errors.error_from_wire({"code": "NOT_FOUND", "message": "m",
                                      "context": [1]})
    assert isinstance(e, peerd.NotFound) and e.context == [1]
    assert isinstance(peerd.errors.error_from_wire(
        {"code": "NEW_CODE", "message": "m"}), peerd.Unknown)
    assert isinstance(peerd.errors.error_from_wire(
        {"code": "OK", "message": "m"}), peerd.Unknown)
    assert isinstance(peerd.errors.error_from_wire("x"), peerd.ProtocolError)
    # What a remote app or the daemon sent is shown cut short, and
    # never makes str() or repr() fail.
    huge = peerd.errors.error_from_wire({"code": "NOT_FOUND", "message": "m",
                                         "context": [10 ** 5000, b"x" * 10**6]})
    assert len(str(huge)) < 300 and len(repr(huge)) < 300
    assert "<int of 16610 bits>" in str(huge)
    bad = peerd.errors.error_from_wire({"code": 10 ** 5000})
    assert isinstance(bad, peerd.ProtocolError) and "bits" in str(bad)
    assert set(peerd.CODES) == {
        "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
        "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "UNIMPLEMENTED",
        "INTERNAL", "UNAVAILABLE"}


def test_idless_messages_reach_handlers(tmp_base: Path) -> None:
    """Messages without an id go to the handlers of their op, sync or
    async; an op without a handler is dropped."""
    path = str(tmp_base / "fake.sock")

    def answer(i: int) -> bytes:
        return (frame({"op": "event", "topic": "t", "data": 1})
                + frame({"op": "nosuch"})
                + frame({"op": "kv_change", "key": "k"})
                + frame({"id": i, "result": {"protocol": 1}}))

    async def run() -> None:
        got: list[dict[str, Any]] = []
        done = asyncio.Event()

        async def on_kv(msg: dict[str, Any]) -> None:
            got.append(msg)
            done.set()

        async with await _daemon_answering_once(path, answer):
            # Handlers are in place before hello: the messages come first.
            node = peerd.Node(path)
            node.on_message("event", got.append)
            node.on_message("kv_change", on_kv)
            await node.open()
            assert node.info == {"protocol": 1}
            await asyncio.wait_for(done.wait(), 2)
            await node.close()
        assert [m["op"] for m in got] == ["event", "kv_change"]

    asyncio.run(asyncio.wait_for(run(), 3))


def test_cancelling_the_task_cancels_the_call(tmp_base: Path) -> None:
    """A cancelled call task sends the daemon a cancel for its id."""
    path = str(tmp_base / "fake.sock")

    async def run() -> None:
        seen: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

        async def serve(r: asyncio.StreamReader,
                        w: asyncio.StreamWriter) -> None:
            while (req := await read_request(r)) is not None:
                await seen.put(req)
                if req["op"] == "hello":
                    w.write(reply(req, HELLO))
                # A call is never answered.
            w.close()                   # the client closed

        async with await asyncio.start_unix_server(serve, path):
            node = await peerd.connect(path)
            assert (await seen.get())["op"] == "hello"
            task = asyncio.create_task(node.call("svc.m", 1, timeout=60))
            call = await asyncio.wait_for(seen.get(), 2)
            assert (call["op"], call["service"], call["method"],
                    call["timeout"], call["args"]) == \
                ("call", "svc", "m", 60000, 1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            cancel = await asyncio.wait_for(seen.get(), 2)
            assert cancel["op"] == "cancel" and cancel["call"] == call["id"]
            await node.close()

    asyncio.run(asyncio.wait_for(run(), 5))


def test_reconnects_and_restores_after_a_daemon_restart(mesh: Mesh) -> None:
    """The daemon restarts: requests in flight fail Unavailable, new
    ones fail at once while it is away, the node connects again by
    itself and runs its restorers, and requests work again."""
    async def run() -> None:
        node = await peerd.connect(mesh.a.sock, timeout=2)
        restored = asyncio.Event()
        dropped: list[peerd.PeerError] = []

        async def restore() -> None:
            await node.request("status")
            restored.set()
        node.add_restorer(restore)
        node.on_drop(dropped.append)
        first = node.info["node"]
        await asyncio.to_thread(mesh.a.stop)
        with pytest.raises(peerd.Unavailable):
            await node.request("status")
        assert not node.connected and not node.closed
        assert len(dropped) == 1
        await asyncio.to_thread(mesh.a.start)
        await asyncio.wait_for(restored.wait(), 10)
        await node.wait_connected(1)
        assert node.info["node"] == first       # the same state dir
        assert (await node.request("status"))["node"] == first
        await node.close()
        assert node.closed
        with pytest.raises(peerd.Unavailable):
            await node.request("status")
        await asyncio.wait_for(node.serve_forever(), 1)

    asyncio.run(asyncio.wait_for(run(), 30))


def test_no_reconnect_ends_serve_forever(mesh: Mesh) -> None:
    async def run() -> None:
        node = await peerd.connect(mesh.a.sock, reconnect=False)
        await asyncio.to_thread(mesh.a.stop)
        with pytest.raises(peerd.Unavailable):
            await asyncio.wait_for(node.serve_forever(), 5)
        assert node.closed
        await node.close()

    asyncio.run(asyncio.wait_for(run(), 30))
