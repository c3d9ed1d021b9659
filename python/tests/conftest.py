# SPDX-License-Identifier: ISC
"""conftest.py: daemons for the Python client's tests, started on
loopback the way tests/integration/harness.c starts them: each with its
own state dir, socket and log, one network key, discovery off; and a
fake daemon's parts, for what a real one cannot be made to send."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator

import cbor2
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))

import peerd  # noqa: E402

PEERD = os.environ.get("PEERD", str(ROOT / "build" / "peerd"))
ECHO_SERVER = os.environ.get("ECHO_SERVER",
                             str(ROOT / "build" / "examples" / "echo_server"))
PEERCTL = os.environ.get("PEERCTL", str(ROOT / "build" / "peerctl"))


def wait_until(cond: Callable[[], bool], seconds: float, what: str) -> None:
    """Polls cond every 20 ms; fails the test after seconds."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.02)
    pytest.fail(f"{what} not within {seconds:g} s")


async def until(cond: Callable[[], bool | Awaitable[bool]], what: str,
                seconds: float = 10) -> None:
    """Calls cond (a function or a coroutine function) every 10 ms
    until it is true, without blocking the loop; fails the test after
    seconds.  The short period catches states that last a moment (a
    node between a drop and its reconnection)."""
    async def poll() -> None:
        while True:
            done = cond()
            if inspect.isawaitable(done):
                done = await done
            if done:
                return
            await asyncio.sleep(0.01)
    try:
        await asyncio.wait_for(poll(), seconds)
    except asyncio.TimeoutError:
        pytest.fail(f"{what} not within {seconds:g} s")


def query(sock: str, op: str, **keys: Any) -> Any:
    """One request on a connection of its own."""
    async def run() -> Any:
        node = await peerd.connect(sock, timeout=2)
        try:
            return await node.request(op, wait=2, **keys)
        finally:
            await node.close()
    return asyncio.run(run())


class Daemon:
    def __init__(self, base: Path, name: str, key: bytes) -> None:
        self.name = name
        self.dir = base / name
        self.state = self.dir / "state"
        self.sock = str(self.dir / "peerd.sock")
        self.log = self.dir / "peerd.log"
        self.state.mkdir(parents=True, mode=0o700)
        keyfile = self.state / "network.key"
        keyfile.write_bytes(key)
        keyfile.chmod(0o600)
        self.proc: subprocess.Popen[bytes] | None = None
        self.options: list[str] = []    # more "-o KEY=VALUE" settings

    def start(self, bootstrap: "Daemon | None" = None) -> None:
        argv = [PEERD, "--state-dir", str(self.state), "-S", self.sock,
                "--listen", "127.0.0.1:0", "-o", "discovery=no",
                "--name", self.name]
        for option in self.options:
            argv += ["-o", option]
        if bootstrap is not None:
            argv += ["--bootstrap", f"127.0.0.1:{bootstrap.port()}"]
        env = {k: v for k, v in os.environ.items()
               if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(argv, stderr=log, env=env,
                                         stdin=subprocess.DEVNULL)
        wait_until(self.answers, 5, f"peerd {self.name} answering on "
                   f"{self.sock} (log {self.log})")
        assert self.proc.poll() is None, \
            f"peerd {self.name} exited at start; see {self.log}"

    def answers(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            return True         # exited: the caller checks
        try:
            query(self.sock, "hello", protocol=1)
        except peerd.PeerError:
            return False
        return True

    def port(self) -> int:
        listen = query(self.sock, "status")["listen"][0]
        return int(listen.rsplit(":", 1)[1])

    def stop(self) -> str:
        """Stops the daemon with SIGTERM (a clean stop, so that a leak
        checker runs at exit); returns what was wrong with the stop, or
        with the log (a sanitizer's report), else ""."""
        why = ""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
                if self.proc.returncode != 0:
                    why = (f"peerd {self.name} stopped with status "
                           f"{self.proc.returncode}")
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                why = f"peerd {self.name} did not stop on SIGTERM"
        if not why and self.log.exists():
            text = self.log.read_text(errors="replace")
            if "Sanitizer" in text or "runtime error:" in text:
                why = f"sanitizer report in peerd {self.name}'s log"
        return why


class Mesh:
    """Daemons a and b, linked; b's clients are started with serve()."""

    def __init__(self, base: Path) -> None:
        key = os.urandom(32)
        self.a = Daemon(base, "a", key)
        self.b = Daemon(base, "b", key)
        self.children: list[subprocess.Popen[bytes]] = []

    def echo_server(self, d: Daemon, service: str = "echo") -> None:
        """Starts build/examples/echo_server on d; waits for "ready"."""
        p = subprocess.Popen([ECHO_SERVER, "-s", d.sock, "-n", service],
                             stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        self.children.append(p)
        assert p.stdout is not None
        line = p.stdout.readline()      # echo_server prints ready, or exits
        assert line.strip() == b"ready", f"echo_server said {line!r}"

    def wait_providers(self, at: Daemon, service: str, count: int) -> None:
        def listed() -> bool:
            r = query(at.sock, "services", service=service)
            return len(r["services"]) == count
        wait_until(listed, 10, f"{count} providers of {service} at {at.name}")

    def stop(self) -> list[str]:
        """Stops the children, then the daemons; returns what was wrong
        with the daemons' stops (Daemon.stop)."""
        for p in self.children:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            if p.stdout is not None:
                p.stdout.close()
        return [why for why in (self.b.stop(), self.a.stop()) if why]


@pytest.fixture
def tmp_base() -> Iterator[Path]:
    # Short paths: a Unix socket path has at most 107 bytes.
    d = Path(tempfile.mkdtemp(prefix="peerd-py."))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@contextlib.contextmanager
def running_mesh(base: Path, b_options: list[str] | None = None) \
        -> Iterator[Mesh]:
    """A Mesh under base, b started with b_options (more "-o" settings),
    stopped at the end; fails the test if a daemon's stop went wrong."""
    for b in (PEERD, ECHO_SERVER):
        if not os.access(b, os.X_OK):
            pytest.skip(f"{b} not built (make -j2)")
    m = Mesh(base)
    m.b.options = list(b_options or [])
    try:
        m.a.start()
        m.b.start(bootstrap=m.a)
        yield m
    finally:
        problems = m.stop()
        for d in (m.a, m.b):
            if d.log.exists():
                sys.stderr.write(f"--- {d.log}\n{d.log.read_text()[-4000:]}")
    # Not in finally: an error in starting them says more.
    if problems:
        pytest.fail("; ".join(problems))


@pytest.fixture
def mesh(tmp_base: Path) -> Iterator[Mesh]:
    with running_mesh(tmp_base) as m:
        yield m


# -- a fake daemon, for messages a real one does not send ----------------

HELLO: dict[str, Any] = {"protocol": 1}

# What a fake daemon does with a request other than hello: it may write
# to the client through the writer.
Handler = Callable[[dict[str, Any], asyncio.StreamWriter], Awaitable[None]]


def frame_raw(payload: bytes) -> bytes:
    """payload framed as on the control socket: its length first, in 4
    bytes big-endian."""
    return struct.pack(">I", len(payload)) + payload


def frame(msg: dict[str, Any]) -> bytes:
    """msg in CBOR, framed."""
    return frame_raw(cbor2.dumps(msg))


def reply(req: dict[str, Any], result: Any) -> bytes:
    """The framed reply to req with result."""
    return frame({"id": req["id"], "result": result})


async def read_request(r: asyncio.StreamReader) -> dict[str, Any] | None:
    """The next message a client sent, decoded; None once the client
    has closed or reset the connection."""
    try:
        (n,) = struct.unpack(">I", await r.readexactly(4))
        return peerd._proto.decode(await r.readexactly(n))
    except (asyncio.IncompleteReadError, ConnectionError):
        return None


async def serve_client(r: asyncio.StreamReader, w: asyncio.StreamWriter,
                       handle: Handler, hello: dict[str, Any] = HELLO
                       ) -> None:
    """One client of a fake daemon: answers its hello with hello, hands
    each other request to handle(request, w) in turn, and closes w once
    the client has gone."""
    try:
        while (req := await read_request(r)) is not None:
            if req.get("op") == "hello":
                w.write(reply(req, hello))
            else:
                await handle(req, w)
    finally:
        w.close()


async def fake_daemon(path: str, handle: Handler,
                      hello: dict[str, Any] = HELLO) -> asyncio.AbstractServer:
    """A fake daemon listening on the Unix socket path, serving each
    client with serve_client."""
    return await asyncio.start_unix_server(
        lambda r, w: serve_client(r, w, handle, hello), path)


async def answer_empty(req: dict[str, Any], w: asyncio.StreamWriter) -> None:
    """Answers req with an empty map, unless it is a cancel or has no id
    (those are not answered)."""
    if "id" in req and req.get("op") != "cancel":
        w.write(reply(req, {}))


class FakeDaemon:
    """A fake daemon that keeps its clients: serve is the callback for
    asyncio.start_unix_server; it answers hello with self.hello and
    hands each other request to self.handle, which answers it with an
    empty map unless a subclass says otherwise.  send() writes a
    message to every client, drop() closes them."""

    hello: dict[str, Any] = HELLO

    def __init__(self) -> None:
        self.writers: list[asyncio.StreamWriter] = []

    async def serve(self, r: asyncio.StreamReader,
                    w: asyncio.StreamWriter) -> None:
        self.writers.append(w)
        await serve_client(r, w, self.handle, self.hello)

    async def handle(self, req: dict[str, Any],
                     w: asyncio.StreamWriter) -> None:
        await answer_empty(req, w)

    def send(self, **msg: Any) -> None:
        for w in self.writers:
            w.write(frame(msg))

    def drop(self) -> None:
        for w in self.writers:
            w.close()
        self.writers.clear()
