# SPDX-License-Identifier: ISC
"""_conn.py: one asyncio connection to the local peerd, kept up.  Finds
the socket as doc/PROTOCOL.md section 1 says, numbers requests, matches
replies to them by id, hands id-less messages (invoke, cancelled,
event, change, log, kv_change, answer) to the handlers registered for
their op, and, when the daemon goes away, connects again with back-off
and runs the restorers the features registered (services and
subscriptions are set up again)."""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import random
from typing import Any, Awaitable, Callable, Union

from . import _proto
from .errors import (DeadlineExceeded, InvalidArgument, PeerError,
                     ProtocolError, Unavailable, Unimplemented, brief,
                     error_from_wire)

__all__ = ["Connection", "default_socket", "Handler", "TIMEOUT_DEFAULT"]

log = logging.getLogger("peerd")

PROTOCOL = 1
TIMEOUT_DEFAULT = 5.0           # seconds, as the daemon's 5000 ms
TIMEOUT_MAX = 86_400            # seconds, one day, as the daemon's longest
SYSTEM_SOCKET = "/run/peerd/peerd.sock"
BACKOFF_FIRST = 0.05            # seconds before the first reconnect
BACKOFF_MAX = 2.0               # the longest wait between attempts
READ_MAX = 256 << 10            # bytes a read takes at most

Handler = Callable[[dict[str, Any]], Union[None, Awaitable[None]]]
Restorer = Callable[[], Awaitable[None]]


def default_socket(path: str | None = None) -> str:
    """The socket a client uses (doc/PROTOCOL.md section 1): path if
    given, else $PEERD_SOCKET, else $XDG_RUNTIME_DIR/peerd.sock if not
    root and it exists, else /run/peerd/peerd.sock."""
    if path:
        return path
    env = os.environ.get("PEERD_SOCKET")
    if env:
        return env
    xdg = os.environ.get("XDG_RUNTIME_DIR", "")
    if os.geteuid() != 0 and xdg.startswith("/"):
        p = os.path.join(xdg, "peerd.sock")
        if os.path.exists(p):
            return p
    return SYSTEM_SOCKET


class Connection:
    """The connection under a Node: requests, id-less messages, and
    reconnection.  Features (calls, serving, events, kv, ...) are
    mixins on top of it; see node.py."""

    def __init__(self, socket: str | None = None, *,
                 timeout: float = TIMEOUT_DEFAULT,
                 reconnect: bool = True) -> None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) \
                or not 0 < timeout <= TIMEOUT_MAX:
            raise InvalidArgument(f"timeout {timeout!r}: not a number of "
                                  f"seconds above 0, up to {TIMEOUT_MAX}")
        self.path: str = default_socket(socket)
        self.info: dict[str, Any] = {}      # the last hello's result
        self.timeout = timeout              # for connecting and hello
        self.reconnect = reconnect
        # The connection's transport and protocol, None while down.
        self._writer: asyncio.WriteTransport | None = None
        self._wire: _Wire | None = None
        self._reading: asyncio.Task[None] | None = None    # _hold
        # The loop the connection runs on, from open() on.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._next_id = 1
        self._pending: dict[int, asyncio.Future[Any]] = {}
        # Frames for the next write; None: none written in this turn.
        self._out: list[bytes] | None = None
        self._encoder = _proto.Encoder()
        self._handlers: dict[str, list[Handler]] = {}
        self._restorers: list[Restorer] = []
        self._drop_hooks: list[Callable[[PeerError], None]] = []
        self._tasks: set[asyncio.Future[Any]] = set()   # handlers running
        self._down: PeerError | None = Unavailable(f"{self.path}: "
                                                   "not connected yet")
        self._closed: PeerError | None = None   # final: close() or no retry
        self._up = asyncio.Event()
        self._done = asyncio.Event()
        self._redialing: asyncio.Task[None] | None = None

    # -- id-less messages ------------------------------------------------

    def on_message(self, op: str, handler: Handler) -> None:
        """Calls handler(msg) for every id-less message of op from the
        daemon (invoke, cancelled, event, change, log, kv_change,
        answer).  handler may be a coroutine function; it runs as a
        task.  Messages of an op without a handler are dropped."""
        self._handlers.setdefault(op, []).append(handler)

    def remove_handler(self, op: str, handler: Handler) -> None:
        """Undoes on_message; ValueError if it was not registered."""
        self._handlers.get(op, []).remove(handler)

    def _dispatch(self, msg: dict[str, Any]) -> None:
        op = msg.get("op")
        for h in list(self._handlers.get(op, ()) if isinstance(op, str)
                      else ()):
            try:
                r = h(msg)
                if inspect.isawaitable(r):
                    self.spawn(r)
            except Exception:
                log.exception("peerd: handler for %s failed", op)

    def spawn(self, aw: Awaitable[Any]) -> asyncio.Future[Any]:
        """Runs aw as a task the connection keeps a reference to; an
        exception it ends with is logged.  close() cancels the rest."""
        t = asyncio.ensure_future(aw)
        self._tasks.add(t)
        t.add_done_callback(self._task_done)
        return t

    def _task_done(self, t: asyncio.Future[Any]) -> None:
        self._tasks.discard(t)
        if not t.cancelled() and t.exception() is not None:
            log.error("peerd: task failed", exc_info=t.exception())

    # -- staying connected -------------------------------------------------

    def add_restorer(self, restorer: Restorer) -> None:
        """Runs `await restorer()` after every reconnection, once hello
        has been answered, in the order they were added (for example to
        register a service again).  A restorer that raises is logged;
        the others still run."""
        self._restorers.append(restorer)

    def on_drop(self, hook: Callable[[PeerError], None]) -> None:
        """Calls hook(error) each time the connection is lost (before
        any reconnection), for state that died with it: the invocations
        open on it, for one."""
        self._drop_hooks.append(hook)

    @property
    def connected(self) -> bool:
        """Connected, and hello answered."""
        return self._down is None and self._up.is_set() \
            and self._closed is None

    @property
    def closed(self) -> bool:
        return self._closed is not None

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Returns once connected (at once if so); raises the final
        error if the node is closed, DeadlineExceeded after timeout."""
        while not self.connected:
            if self._closed is not None:
                raise type(self._closed)(self._closed.message,
                                         self._closed.context)
            try:
                await asyncio.wait_for(self._up.wait(), timeout)
            except asyncio.TimeoutError:
                raise DeadlineExceeded(f"{self.path}: not connected "
                                       f"within {timeout:g} s") from None

    async def open(self) -> None:
        """Connects and says hello; raises Unavailable if it cannot
        connect, Unimplemented if the daemon does not speak protocol 1,
        ProtocolError if it breaks the protocol.  A closed node is not
        opened again (it raises what closed it), nor an open one
        (RuntimeError: its connection would be left open behind it)."""
        if self._closed is not None:
            raise type(self._closed)(self._closed.message,
                                     self._closed.context)
        if self._writer is not None:
            raise RuntimeError(f"peerd: {self.path}: the node is open "
                               "already")
        # Kept for the hot path: get_running_loop() costs a getpid().
        self._loop = loop = asyncio.get_running_loop()
        try:
            writer, wire = await asyncio.wait_for(
                loop.create_unix_connection(lambda: _Wire(self), self.path),
                self.timeout)
        except (OSError, asyncio.TimeoutError) as e:
            raise Unavailable(f"{self.path}: cannot connect: "
                              f"{e or 'timed out'}") from None
        assert isinstance(writer, asyncio.WriteTransport)
        self._writer, self._wire = writer, wire
        self._down = None
        self._reading = loop.create_task(self._hold(writer, wire))
        try:
            info = await self.request("hello", wait=self.timeout,
                                      protocol=PROTOCOL)
            if not isinstance(info, dict):
                raise ProtocolError(f"hello: malformed result: "
                                    f"{brief(info)}")
            got = info.get("protocol")
            if isinstance(got, bool) or got != PROTOCOL:
                raise Unimplemented(f"{self.path}: daemon speaks protocol "
                                    f"{brief(got)}, not {PROTOCOL}")
        except BaseException as e:
            self._drop(e if isinstance(e, PeerError) else
                       Unavailable(f"{self.path}: hello failed"), final=None)
            writer.close()
            raise
        self.info = info
        self._up.set()

    async def _redial(self) -> None:
        """Connects again with back-off (50 ms doubling to 2 s, with
        jitter) until it succeeds or close() is called; then runs the
        restorers."""
        delay = BACKOFF_FIRST
        while self._closed is None:
            await asyncio.sleep(delay * random.uniform(0.75, 1.25))
            try:
                await self.open()
            except PeerError as e:
                log.debug("peerd: reconnect to %s: %s", self.path, e)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            log.info("peerd: reconnected to %s", self.path)
            for r in list(self._restorers):
                if not self.connected:
                    break
                try:
                    await r()
                except PeerError as e:
                    log.error("peerd: restoring after reconnect: %s", e)
                except Exception:
                    # A bug in one: the others still run, and this task
                    # goes on (its exception would never be retrieved).
                    log.exception("peerd: a restorer failed")
            if self.connected:
                return
            delay = BACKOFF_FIRST   # lost again while restoring

    async def serve_forever(self) -> None:
        """Returns when the node is closed; raises the error that ended
        the connection if it was not closed by close() (reconnect=False,
        or a daemon that breaks the protocol)."""
        await self._done.wait()
        assert self._closed is not None
        if not isinstance(self._closed, _ClosedByUser):
            raise type(self._closed)(self._closed.message,
                                     self._closed.context)

    # -- requests ----------------------------------------------------------

    async def request(self, op: str, /, *,
                      wait: float | None = TIMEOUT_DEFAULT,
                      cancel: bool = False,
                      on_id: Callable[[int], None] | None = None,
                      **keys: Any) -> Any:
        """Sends {"op": op, "id": n, **keys} and returns the reply's
        result, or raises the reply's error as its PeerError subclass.
        wait (seconds, None for none) bounds the wait here:
        DeadlineExceeded after it.  Cancelling the awaiting task stops
        the wait; with cancel (for a call), giving up either way also
        sends the daemon a cancel for the request.  on_id(id) is
        called as the request is sent, before any message about it can
        be read (the answer messages of a fan-out call name it).  While
        reconnecting it raises Unavailable at once; RuntimeError on
        another event loop than the one the node was opened on."""
        loop = self._loop
        if loop is not None and loop is not asyncio.get_running_loop():
            # Its socket and tasks live on that loop: the request would
            # never be answered here.
            raise RuntimeError(f"peerd: {self.path}: the node was opened "
                               "on another event loop; connect a node "
                               "on each loop")
        if self._down is not None or self._writer is None:
            err = self._closed or self._down
            assert err is not None
            raise type(err)(err.message, err.context)
        rid = self._next_id
        self._next_id += 1
        try:
            frame = self._encoder.encode({"op": op, "id": rid, **keys})
        except (ValueError, TypeError) as e:
            raise InvalidArgument(f"{op}: {e}") from None
        assert loop is not None
        fut: asyncio.Future[Any] = loop.create_future()
        self._pending[rid] = fut
        wire = self._wire
        assert wire is not None
        # The reply is awaited on fut itself and the deadline is a timer
        # that fails it: wait_for and shield cost three turns of the
        # loop and as many futures a request.
        timer = None if wait is None else \
            loop.call_later(wait, _expire, fut, op, wait)
        try:
            if on_id is not None:
                on_id(rid)
            self._write(frame)
            if wire.paused:
                await wire.drained()
            return await fut
        except _NoReply as e:
            if cancel:
                self._send_cancel(rid)
            raise DeadlineExceeded(e.message) from None
        except asyncio.CancelledError:
            # The task was cancelled: fut with it, or before it waited.
            if cancel and (fut.cancelled() or not fut.done()):
                self._send_cancel(rid)
            raise
        except (ConnectionError, OSError) as e:
            raise Unavailable(f"{op}: daemon connection lost: {e}") from None
        finally:
            if timer is not None:
                timer.cancel()
            self._pending.pop(rid, None)
            if fut.done() and not fut.cancelled():
                fut.exception()     # raised above, or superseded there

    def send(self, op: str, /, **keys: Any) -> None:
        """Sends a message with no id and no reply (reply, for one);
        dropped if not connected.  Raises InvalidArgument if it cannot
        be encoded."""
        try:
            frame = self._encoder.encode({"op": op, **keys})
        except (ValueError, TypeError) as e:
            raise InvalidArgument(f"{op}: {e}") from None
        if self._down is None and self._writer is not None \
                and not self._writer.is_closing():
            self._write(frame)

    def _write(self, frame: bytes) -> None:
        """Writes frame to the daemon: the first of a turn of the loop
        at once, the others of that turn together in one write at the
        start of the next, so that 64 calls in flight cost two system
        calls, not 64 (here and in the daemon's reads), and a lone call
        waits for nothing."""
        writer = self._writer
        assert writer is not None
        if self._out is None:
            writer.write(frame)
            self._out = []
            assert self._loop is not None
            self._loop.call_soon(self._flush)
        else:
            self._out.append(frame)

    def _flush(self) -> None:
        out, self._out = self._out, None
        writer = self._writer
        if out and writer is not None and not writer.is_closing():
            writer.write(b"".join(out))

    async def drain(self) -> None:
        """Waits while the daemon is slow to read what send() wrote.  A
        lost connection is not raised here: the connection reports it."""
        wire = self._wire
        if wire is not None:
            await wire.drained()

    def _send_cancel(self, call_id: int) -> None:
        """Asks the daemon to call off call_id; its reply is dropped."""
        rid = self._next_id
        self._next_id += 1
        self.send("cancel", id=rid, call=call_id)

    # -- the connection ----------------------------------------------------

    async def _hold(self, writer: asyncio.WriteTransport,
                    wire: "_Wire") -> None:
        """Lives as long as the connection (the reading is _Wire's): when
        it is cancelled, by close() or by the loop ending with the node
        still open (asyncio.run), it closes the socket."""
        try:
            await asyncio.shield(wire.closed)
        except asyncio.CancelledError:
            writer.close()
            raise

    def _receive(self, msg: dict[str, Any]) -> None:
        """A message from the daemon: a reply completes its request, an
        id-less message goes to the handlers of its op.  Raises
        ProtocolError for a malformed one, the error of an id-0 reply
        (which ends the connection)."""
        if "id" in msg:
            rid = msg["id"]
            if (not isinstance(rid, int) or isinstance(rid, bool)
                    or rid < 0 or ("result" in msg) == ("error" in msg)):
                raise ProtocolError(f"malformed reply: {brief(msg)}")
            if rid == 0:
                # An error about the whole connection: it ends every
                # request in flight with its code.
                raise error_from_wire(msg.get("error"))
            fut = self._pending.get(rid)
            if fut is None or fut.done():
                return          # abandoned: timed out or cancelled
            if "error" in msg:
                fut.set_exception(error_from_wire(msg["error"]))
            else:
                fut.set_result(msg["result"])
        elif isinstance(msg.get("op"), str):
            self._dispatch(msg)
        else:
            raise ProtocolError("malformed message: neither an id nor an "
                                f"op: {brief(msg)}")

    def _drop(self, err: PeerError, final: bool | None) -> None:
        """The connection is gone: fails the requests in flight with
        err, tells the drop hooks, and redials unless final (None: as
        self.reconnect says)."""
        if self._down is not None and self._writer is None:
            return
        self._down = err
        self._up.clear()
        self._writer = self._wire = None
        self._out = None            # for the connection lost
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(type(err)(err.message, err.context))
        self._pending.clear()
        for hook in list(self._drop_hooks):
            try:
                hook(err)
            except Exception:
                log.exception("peerd: drop hook failed")
        if final is None:
            final = not self.reconnect or not self.info
        if final or self._closed is not None:
            self._finish(err)
        elif self._redialing is None or self._redialing.done():
            log.warning("peerd: lost %s: %s; reconnecting", self.path, err)
            self._redialing = asyncio.get_running_loop().create_task(
                self._redial())

    def _finish(self, err: PeerError) -> None:
        if self._closed is None:
            self._closed = err
        self._done.set()
        self._up.set()              # wakes wait_connected to raise

    def fail(self, err: PeerError) -> None:
        """Ends the node with err, as a daemon that breaks the protocol
        would: the connection is closed and not made again, requests in
        flight fail with err, serve_forever raises it.  For a setup a
        node cannot go on without (a decorator's subscription, say).
        Does nothing if the node is closed already; close() still
        cleans up."""
        if self._closed is not None:
            return
        writer = self._writer
        self._finish(err)
        if writer is not None:
            self._drop(err, True)
            writer.close()
        if self._redialing is not None:
            self._redialing.cancel()

    async def close(self) -> None:
        """Closes the connection and stops reconnecting; requests in
        flight fail Unavailable, serve_forever returns.  The handlers
        and tasks still running are cancelled and waited for, except
        the task calling close() (a handler or a restorer may close the
        node, and goes on).  Closing again does nothing."""
        self._finish(_ClosedByUser(f"{self.path}: connection closed"))
        writer, wire = self._writer, self._wire
        if writer is not None:
            self._drop(self._closed or Unavailable("closed"), True)
            writer.close()      # at once: a close() cancelled below did too
        # Not the task calling close() (a handler, a restorer): it
        # goes on once close() returns.  Waited with asyncio.wait, so
        # that a caller cancelled meanwhile is cancelled, not swallowed.
        me = asyncio.current_task()
        tasks = {t for t in (self._reading, self._redialing, *self._tasks)
                 if t is not None and t is not me and not t.done()}
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks)
        if wire is not None:
            await asyncio.shield(wire.closed)


class _ClosedByUser(Unavailable):
    """The error of a node closed by close()."""


class _NoReply(DeadlineExceeded):
    """A request's wait ran out here, told apart from the daemon's
    DEADLINE_EXCEEDED reply: request() then cancels the call."""


def _expire(fut: asyncio.Future[Any], op: str, wait: float) -> None:
    if not fut.done():
        fut.set_exception(_NoReply(f"{op}: no reply within {wait:g} s"))


class _Wire(asyncio.BufferedProtocol):
    """The protocol of one connection to the daemon: cuts what arrives
    into frames and hands each message to the Connection as it comes
    (no reading task: a reply completes its request in the same turn of
    the loop), and ends the connection when the daemon breaks the
    protocol or goes away.  It reads into a buffer of its own: a plain
    Protocol gets each read as a new bytes object of 256 KiB, cut down
    to size, which costs an mmap, an mremap and a munmap a read."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.transport: asyncio.Transport | None = None
        self.rx = memoryview(bytearray(READ_MAX))   # what a read fills
        self.buf = bytearray()      # what is not yet a whole frame
        self.paused = False         # writing: the buffer is full
        self._drained: asyncio.Future[None] | None = None
        self.closed: asyncio.Future[None] = \
            asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.rx

    def buffer_updated(self, nbytes: int) -> None:
        buf = self.buf
        buf += self.rx[:nbytes]
        at = 0
        try:
            while len(buf) - at >= _proto.HDR:
                n = int.from_bytes(buf[at:at + _proto.HDR], "big")
                _proto.check_length(n)
                if len(buf) - at - _proto.HDR < n:
                    break
                at += _proto.HDR
                msg = _proto.decode(buf[at:at + n])
                at += n
                self.conn._receive(msg)
                if self.transport is None or self.transport.is_closing():
                    return      # ended by a handler (close())
        except ProtocolError as e:
            self._end(e, True)  # a daemon that breaks the protocol
            return
        except PeerError as e:
            self._end(e, None)
            return
        del buf[:at]

    def eof_received(self) -> bool:
        """The daemon closed the connection, perhaps inside a frame."""
        left = len(self.buf)
        if left == 0:
            self._end(Unavailable(f"{self.conn.path}: daemon closed the "
                                  "connection"), None)
        elif left < _proto.HDR:
            self._end(ProtocolError("truncated frame: connection ended in "
                                    "the header"), True)
        else:
            n = int.from_bytes(self.buf[:_proto.HDR], "big")
            self._end(ProtocolError(f"truncated frame: {left - _proto.HDR} "
                                    f"of {n} bytes before the connection "
                                    "ended"), True)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._end(Unavailable(f"{self.conn.path}: "
                              f"{exc or 'connection lost'}"), None)
        self.paused = False
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        if not self.closed.done():
            self.closed.set_result(None)

    def _end(self, err: PeerError, final: bool | None) -> None:
        """Ends this connection with err (the first reason counts) and,
        if it is still the node's, drops it there: final None
        reconnects if enabled."""
        transport, self.transport = self.transport, None
        if transport is None:
            return
        if transport is self.conn._writer:
            self.conn._drop(err, final)
        transport.close()

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    async def drained(self) -> None:
        """Returns once the transport takes writes again."""
        if self.paused:
            if self._drained is None or self._drained.done():
                self._drained = \
                    asyncio.get_running_loop().create_future()
            await self._drained
