# SPDX-License-Identifier: ISC
"""test_sync.py: the synchronous node (connect_sync) as a script uses
it, against real daemons: calls through two daemons, proxies, status
ops, serve_forever and close from another thread, Ctrl-C, a daemon
restart, and no thread left behind."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest

import peerd
from conftest import ROOT, Mesh, wait_until


def threads() -> set[threading.Thread]:
    return set(threading.enumerate())


def waiting_in_run(thread_id: int) -> bool:
    """Whether the thread waits for the loop: in Future.result, called
    by Runner.run."""
    frame = sys._current_frames().get(thread_id)
    waiting = False
    while frame is not None:
        where = (frame.f_code.co_name,
                 os.path.basename(frame.f_code.co_filename))
        if where == ("result", "_base.py"):
            waiting = True
        elif where == ("run", "_runner.py"):
            return waiting
        frame = frame.f_back
    return False


def when_waiting(thread: threading.Thread, action: Callable[[], None]
                 ) -> threading.Thread:
    """Calls action() from a thread of its own once thread waits for
    the loop in Runner.run (polls every 5 ms, for at most 5 s)."""
    def watch() -> None:
        end = time.monotonic() + 5
        while not waiting_in_run(thread.ident or 0) \
                and time.monotonic() < end:
            time.sleep(0.005)
        action()
    t = threading.Thread(target=watch)
    t.start()
    return t


def test_a_script_calls_the_c_echo(mesh: Mesh) -> None:
    mesh.echo_server(mesh.b)
    mesh.wait_providers(mesh.a, "echo", 1)
    before = threads()
    sn = peerd.connect_sync(mesh.a.sock)
    assert sn.info["name"] == "a" and sn.connected and not sn.closed
    assert sn.path == mesh.a.sock
    assert sn.call("echo.echo", "hello") == "hello"
    assert sn.call("echo.echo", 1, 2, 3, timeout=2, to="b") == [1, 2, 3]
    assert sn.call_method("echo", "echo", {"k": b"\x00"}) == {"k": b"\x00"}
    echo = sn.proxy("echo", timeout=2)
    assert echo.echo("via proxy") == "via proxy"
    assert echo.whoami() == "b"
    with pytest.raises(AttributeError):
        echo._private
    with pytest.raises(peerd.Unknown) as e:
        echo.fail({"why": "test"})
    assert e.value.message == "failed on purpose"
    assert e.value.context == {"why": "test"}
    with pytest.raises(peerd.DeadlineExceeded):
        sn.call("echo.sleep", 2000, timeout=0.1)
    assert sn.request("status")["name"] == "a"
    assert sn.status()["node"] == sn.info["node"]
    assert [s["name"] for s in sn.services("echo")] == ["b"]
    wait_until(lambda: len(sn.members(state="alive")) == 2, 10,
               "a and b alive")
    assert [p["name"] for p in sn.peers()] == ["b"]
    assert sn.topics() == []
    assert 0 < sn.ping("b") < 1
    with pytest.raises(peerd.NotFound):
        sn.ping("nosuch")
    sn.close()
    assert sn.closed and not sn.connected
    with pytest.raises(peerd.Unavailable):
        sn.call("echo.echo", "after close")
    sn.close()                          # again: nothing to do
    assert threads() == before


def test_context_manager_and_threads(mesh: Mesh) -> None:
    """Several threads call through one node at once; leaving the
    with block closes it and joins its threads."""
    mesh.echo_server(mesh.b)
    mesh.wait_providers(mesh.a, "echo", 1)
    before = threads()
    with peerd.connect_sync(mesh.a.sock) as sn:
        got: dict[int, Any] = {}

        def work(i: int) -> None:
            got[i] = sn.call("echo.echo", i)
        workers = [threading.Thread(target=work, args=(i,))
                   for i in range(8)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(10)
        assert got == {i: i for i in range(8)}
    assert sn.closed
    assert threads() == before


def test_serve_forever_returns_when_another_thread_closes(mesh: Mesh) -> None:
    before = threads()
    sn = peerd.connect_sync(mesh.a.sock)
    serving = threading.Thread(target=sn.serve_forever)
    serving.start()
    closer = when_waiting(serving, sn.close)
    serving.join(5)
    closer.join(5)
    assert not serving.is_alive(), "serve_forever did not return"
    assert sn.closed
    sn.serve_forever()                  # closed: returns at once
    assert threads() == before


def test_serve_forever_raises_what_ended_the_node(mesh: Mesh) -> None:
    with peerd.connect_sync(mesh.a.sock, reconnect=False) as sn:
        mesh.a.stop()
        with pytest.raises(peerd.Unavailable):
            sn.serve_forever()
        assert sn.closed


def test_an_interrupt_cancels_the_call(mesh: Mesh) -> None:
    """KeyboardInterrupt during a call gives up the call, cancels it at
    the daemon, and leaves the node good."""
    mesh.echo_server(mesh.b)
    mesh.wait_providers(mesh.a, "echo", 1)

    def cancelled() -> int:
        counts = peerd_calls(sn.request("stats"))
        return counts.get("CANCELLED", 0)

    with peerd.connect_sync(mesh.a.sock) as sn:
        assert cancelled() == 0
        main = threading.current_thread()
        interrupter = when_waiting(main, lambda: signal.pthread_kill(
            main.ident or 0, signal.SIGINT))
        start = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            sn.call("echo.sleep", 3000, timeout=10)
        interrupter.join(5)
        assert time.monotonic() - start < 2
        wait_until(lambda: cancelled() == 1, 5, "the call cancelled")
        assert sn.call("echo.echo", "after") == "after"


def peerd_calls(stats: dict[str, Any]) -> dict[str, int]:
    """peerd_calls_total of a stats result, by code."""
    return {s["labels"]["code"]: s["value"]
            for s in stats["peerd_calls_total"]["samples"]}


def test_blocking_call_from_the_loop_is_refused(mesh: Mesh) -> None:
    with peerd.connect_sync(mesh.a.sock) as sn:
        async def on_the_loop() -> Any:
            return sn.status()
        with pytest.raises(RuntimeError, match="own loop"):
            sn.run(on_the_loop())
        assert sn.run(sn.node.status())["name"] == "a"


def test_worker_threads_and_close_from_one(mesh: Mesh) -> None:
    """Sync code the loop hands off runs in the node's worker threads,
    which may block on the node, and even close it."""
    before = threads()
    sn = peerd.connect_sync(mesh.a.sock)

    def in_worker() -> tuple[str, str]:
        return threading.current_thread().name, sn.status()["name"]
    thread, name = sn.run(asyncio.to_thread(in_worker))
    assert thread.startswith("peerd-worker") and name == "a"
    with pytest.raises(peerd.Unavailable, match="closed"):
        sn.run(asyncio.to_thread(sn.close))
    assert sn.closed
    wait_until(lambda: threads() == before, 5, "the node's threads ended")


def test_sync_watch(mesh: Mesh) -> None:
    with peerd.connect_sync(mesh.a.sock) as sn:
        with sn.watch(members=False) as changes:
            mesh.echo_server(mesh.b)
            got: list[dict[str, Any]] = []
            reader = threading.Thread(target=lambda: got.append(
                next(changes)))
            reader.start()
            reader.join(5)
            assert [(c["kind"], c["service"]) for c in got] == \
                [("service-registered", "echo")]
        assert list(changes) == []          # closed: the iteration ends


def test_reconnection_through_the_sync_node(mesh: Mesh) -> None:
    with peerd.connect_sync(mesh.a.sock, timeout=2) as sn:
        first = sn.info["node"]
        mesh.a.stop()
        with pytest.raises(peerd.Unavailable):
            sn.status()
        assert not sn.connected and not sn.closed
        mesh.a.start()
        sn.wait_connected(10)
        assert sn.connected and sn.info["node"] == first
        assert sn.status()["node"] == first


def test_connect_sync_fails_cleanly(tmp_base: Path) -> None:
    before = threads()
    with pytest.raises(peerd.Unavailable):
        peerd.connect_sync(str(tmp_base / "none.sock"))
    assert threads() == before


SCRIPT = """
import sys, threading, time
sys.path.insert(0, {tests!r})
sys.path.insert(0, {python!r})
import peerd
from test_sync import waiting_in_run
sn = peerd.connect_sync({sock!r})
main = threading.main_thread()

def tell():
    end = time.monotonic() + 5
    while not waiting_in_run(main.ident) and time.monotonic() < end:
        time.sleep(0.005)
    print("serving", flush=True)
teller = threading.Thread(target=tell)
teller.start()
sn.serve_forever()
teller.join()
print("returned", sn.closed, threading.active_count(), flush=True)
"""


def test_ctrl_c_closes_serve_forever(mesh: Mesh, tmp_base: Path) -> None:
    """A script in serve_forever: Ctrl-C closes the node, and
    serve_forever returns; the script ends with status 0."""
    script = tmp_base / "serve.py"
    script.write_text(SCRIPT.format(tests=str(ROOT / "python" / "tests"),
                                    python=str(ROOT / "python"),
                                    sock=mesh.a.sock))
    p = subprocess.Popen([sys.executable, str(script)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, text=True)
    try:
        assert p.stdout is not None
        assert p.stdout.readline() == "serving\n"
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=5)
        assert p.returncode == 0, err
        assert out == "returned True 1\n"
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_async_node_still_usable_beside(mesh: Mesh) -> None:
    """The sync node's loop is its own: asyncio.run in the script's
    thread works beside it."""
    with peerd.connect_sync(mesh.a.sock) as sn:
        async def other() -> str:
            async with await peerd.connect(mesh.a.sock) as node:
                name: str = (await node.status())["name"]
                return name
        assert asyncio.run(asyncio.wait_for(other(), 5)) == "a"
        assert sn.status()["name"] == "a"


def test_sync_services_run_in_worker_threads(mesh: Mesh) -> None:
    with peerd.connect_sync(mesh.b.sock) as server, \
            peerd.connect_sync(mesh.a.sock) as client:
        ran_in: list[str] = []

        @server.service("calc")
        class Calc:
            def twice(self, x: int) -> int:
                ran_in.append(threading.current_thread().name)
                return 2 * x

            async def neg(self, x: int) -> int:
                return -x

        @server.service("greet")
        def hello(name: str) -> str:
            # A sync handler may block on the sync node.
            return f"hello {name}, {server.call('calc.twice', 2)}"

        mesh.wait_providers(mesh.a, "calc", 1)
        mesh.wait_providers(mesh.a, "greet", 1)
        calc = client.proxy("calc")
        assert calc.twice(21) == 42 and calc.neg(5) == -5
        assert client.call("greet.hello", "a") == "hello a, 4"
        assert ran_in and all(n.startswith("peerd-worker") for n in ran_in)
        client.notify("calc.twice", 1)
        (answer,) = client.call_all("calc.twice", 4)
        assert answer.value() == 8


def test_sync_events(mesh: Mesh) -> None:
    with peerd.connect_sync(mesh.a.sock) as sn:
        seen: list[tuple[Any, str]] = []
        three = threading.Event()

        @sn.on("u.*")
        def on_u(ev: peerd.Event) -> None:
            seen.append((ev.data, threading.current_thread().name))
            if len(seen) == 3:
                three.set()

        with sn.subscribe("t.*") as sub:
            wait_until(lambda: {"t.*", "u.*"} <= {
                t["topic"] for t in sn.topics() if t["local"]}, 5,
                "both patterns subscribed")
            for i in range(3):
                sn.publish("t.x", i)
                sn.publish("u.x", i)
            assert [next(sub).data for _ in range(3)] == [0, 1, 2]
        assert three.wait(5)
        assert [d for d, _ in seen] == [0, 1, 2]
        assert all(n.startswith("peerd-worker") for _, n in seen)


def test_sync_kv(mesh: Mesh) -> None:
    with peerd.connect_sync(mesh.a.sock) as sn:
        sn.kv["greeting"] = "hello"
        assert sn.kv["greeting"] == "hello"
        del sn.kv["greeting"]
        with pytest.raises(KeyError):
            sn.kv["greeting"]
