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
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._next_id = 1
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._handlers: dict[str, list[Handler]] = {}
        self._restorers: list[Restorer] = []
        self._drop_hooks: list[Callable[[PeerError], None]] = []
        self._tasks: set[asyncio.Future[Any]] = set()   # handlers running
        self._down: PeerError | None = Unavailable(f"{self.path}: "
                                                   "not connected yet")
        self._closed: PeerError | None = None   # final: close() or no retry
        self._up = asyncio.Event()
        self._done = asyncio.Event()
        self._reading: asyncio.Task[None] | None = None
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
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_unix_connection(self.path), self.timeout)
        except (OSError, asyncio.TimeoutError) as e:
            raise Unavailable(f"{self.path}: cannot connect: "
                              f"{e or 'timed out'}") from None
        self._reader, self._writer = reader, writer
        self._down = None
        self._reading = asyncio.get_running_loop().create_task(
            self._read_loop(reader, writer))
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
        reading = self._reading
        if reading is not None \
                and reading.get_loop() is not asyncio.get_running_loop():
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
            frame = _proto.encode({"op": op, "id": rid, **keys})
        except (ValueError, TypeError) as e:
            raise InvalidArgument(f"{op}: {e}") from None
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        writer = self._writer
        try:
            if on_id is not None:
                on_id(rid)
            writer.write(frame)
            await writer.drain()
            if wait is None:
                return await fut
            try:
                return await asyncio.wait_for(asyncio.shield(fut), wait)
            except asyncio.TimeoutError:
                if cancel:
                    self._send_cancel(rid)
                raise DeadlineExceeded(f"{op}: no reply within "
                                       f"{wait:g} s") from None
        except asyncio.CancelledError:
            if cancel and not fut.done():
                self._send_cancel(rid)
            raise
        except (ConnectionError, OSError) as e:
            raise Unavailable(f"{op}: daemon connection lost: {e}") from None
        finally:
            self._pending.pop(rid, None)
            if fut.done() and not fut.cancelled():
                fut.exception()     # raised above, or superseded there

    def send(self, op: str, /, **keys: Any) -> None:
        """Sends a message with no id and no reply (reply, for one);
        dropped if not connected.  Raises InvalidArgument if it cannot
        be encoded."""
        try:
            frame = _proto.encode({"op": op, **keys})
        except (ValueError, TypeError) as e:
            raise InvalidArgument(f"{op}: {e}") from None
        if self._down is None and self._writer is not None \
                and not self._writer.is_closing():
            self._writer.write(frame)

    async def drain(self) -> None:
        """Waits while the daemon is slow to read what send() wrote.  A
        lost connection is not raised here: the read loop reports it."""
        writer = self._writer
        if writer is not None and not writer.is_closing():
            try:
                await writer.drain()
            except (ConnectionError, OSError):
                pass

    def _send_cancel(self, call_id: int) -> None:
        """Asks the daemon to call off call_id; its reply is dropped."""
        rid = self._next_id
        self._next_id += 1
        self.send("cancel", id=rid, call=call_id)

    # -- the connection ----------------------------------------------------

    async def _read_loop(self, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        err: PeerError
        final: bool | None = None       # None: reconnect if enabled
        try:
            while True:
                msg = await _proto.read_frame(reader)
                if msg is None:
                    err = Unavailable(f"{self.path}: daemon closed the "
                                      "connection")
                    break
                if "id" in msg:
                    rid = msg["id"]
                    if (not isinstance(rid, int) or isinstance(rid, bool)
                            or rid < 0
                            or ("result" in msg) == ("error" in msg)):
                        raise ProtocolError(f"malformed reply: {brief(msg)}")
                    if rid == 0:
                        # An error about the whole connection: it ends
                        # every request in flight with its code.
                        err = error_from_wire(msg.get("error"))
                        break
                    fut = self._pending.get(rid)
                    if fut is None or fut.done():
                        continue        # abandoned: timed out or cancelled
                    if "error" in msg:
                        fut.set_exception(error_from_wire(msg["error"]))
                    else:
                        fut.set_result(msg["result"])
                elif isinstance(msg.get("op"), str):
                    self._dispatch(msg)
                else:
                    raise ProtocolError("malformed message: neither an id "
                                        f"nor an op: {brief(msg)}")
        except ProtocolError as e:
            err, final = e, True        # a daemon that breaks the protocol
        except PeerError as e:
            err = e
        except (ConnectionError, OSError) as e:
            err = Unavailable(f"{self.path}: {e}")
        except asyncio.CancelledError:
            # By close(), or by the loop ending (asyncio.run) with the
            # node still open: the socket ends with this task.
            writer.close()
            raise
        if writer is self._writer:
            self._drop(err, final)
        writer.close()

    def _drop(self, err: PeerError, final: bool | None) -> None:
        """The connection is gone: fails the requests in flight with
        err, tells the drop hooks, and redials unless final (None: as
        self.reconnect says)."""
        if self._down is not None and self._writer is None:
            return
        self._down = err
        self._up.clear()
        self._writer = None
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
        writer = self._writer
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
        if writer is not None:
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass


class _ClosedByUser(Unavailable):
    """The error of a node closed by close()."""
