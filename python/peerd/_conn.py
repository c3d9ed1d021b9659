# SPDX-License-Identifier: ISC
"""_conn.py: one asyncio connection to the local peerd.  Finds the
socket as doc/PROTOCOL.md section 1 says, numbers requests, matches
replies to them by id, and hands id-less messages (invoke, cancelled,
event, change, log, kv_change, answer) to the handlers registered for
their op."""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
from typing import Any, Awaitable, Callable, Union

from . import _proto
from .errors import (DeadlineExceeded, InvalidArgument, PeerError,
                     ProtocolError, Unavailable, Unimplemented,
                     error_from_wire)

__all__ = ["Node", "connect", "default_socket", "Handler"]

log = logging.getLogger("peerd")

PROTOCOL = 1
TIMEOUT_DEFAULT = 5.0           # seconds, as the daemon's 5000 ms
CALL_MARGIN = 1.0               # seconds a call waits past its deadline
SYSTEM_SOCKET = "/run/peerd/peerd.sock"

Handler = Callable[[dict[str, Any]], Union[None, Awaitable[None]]]


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


class Node:
    """A connection to peerd.  Make one with `await peerd.connect()`."""

    def __init__(self, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter, path: str) -> None:
        self.path: str = path
        self.info: dict[str, Any] = {}      # hello's result
        self._reader = reader
        self._writer = writer
        self._next_id = 1
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._handlers: dict[str, list[Handler]] = {}
        self._tasks: set[asyncio.Future[Any]] = set()   # handlers running
        self._closed: PeerError | None = None
        self._task: asyncio.Task[None] = asyncio.get_running_loop(
        ).create_task(self._read_loop())

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
                    t = asyncio.ensure_future(r)
                    self._tasks.add(t)
                    t.add_done_callback(self._handler_done)
            except Exception:
                log.exception("peerd: handler for %s failed", op)

    def _handler_done(self, t: asyncio.Future[Any]) -> None:
        self._tasks.discard(t)
        if not t.cancelled() and t.exception() is not None:
            log.error("peerd: handler failed", exc_info=t.exception())

    # -- requests ----------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed is not None

    async def request(self, op: str, /, *,
                      wait: float | None = TIMEOUT_DEFAULT,
                      cancel: bool = False, **keys: Any) -> Any:
        """Sends {"op": op, "id": n, **keys} and returns the reply's
        result, or raises the reply's error as its PeerError subclass.
        wait (seconds, None for none) bounds the wait here:
        DeadlineExceeded after it.  Cancelling the awaiting task stops
        the wait; with cancel (for a call), giving up either way also
        sends the daemon a cancel for the request."""
        if self._closed is not None:
            raise type(self._closed)(self._closed.message)
        rid = self._next_id
        self._next_id += 1
        try:
            frame = _proto.encode({"op": op, "id": rid, **keys})
        except (ValueError, TypeError) as e:
            raise InvalidArgument(f"{op}: {e}") from None
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        try:
            self._writer.write(frame)
            await self._writer.drain()
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

    def _send_cancel(self, call_id: int) -> None:
        """Asks the daemon to call off call_id; its reply is dropped."""
        if self._closed is not None or self._writer.is_closing():
            return
        rid = self._next_id
        self._next_id += 1
        self._writer.write(_proto.encode({"op": "cancel", "id": rid,
                                          "call": call_id}))

    async def call(self, service_method: str, *args: Any,
                   timeout: float = TIMEOUT_DEFAULT,
                   to: str | None = None) -> Any:
        """Calls a method of a service and returns its answer.
        service_method is "service.method", split at the last dot (use
        call_method for a dotted method name).  No args: the call has no
        args; one: that item; several: an array of them.  timeout is in
        seconds (the daemon's deadline, 1 ms to one day); to restricts
        the providers (doc/PROTOCOL.md section 8, call).  Cancelling
        the awaiting task cancels the call: the daemon is sent a cancel,
        and the serving app hears cancelled."""
        service, dot, method = service_method.rpartition(".")
        if not dot or not service or not method:
            raise InvalidArgument(f"{service_method!r}: not service.method")
        return await self.call_method(service, method, *args,
                                      timeout=timeout, to=to)

    async def call_method(self, service: str, method: str, *args: Any,
                          timeout: float = TIMEOUT_DEFAULT,
                          to: str | None = None) -> Any:
        """As call, with the service and the method apart."""
        ms = round(timeout * 1000)
        if not 1 <= ms <= 86_400_000:
            raise InvalidArgument(f"timeout {timeout} s out of range "
                                  "(0.001 s to one day)")
        keys: dict[str, Any] = {"service": service, "method": method,
                                "timeout": ms}
        if to is not None:
            keys["to"] = to
        if len(args) == 1:
            keys["args"] = args[0]
        elif args:
            keys["args"] = list(args)
        # The daemon answers by the deadline; wait a margin past it.
        return await self.request("call", wait=timeout + CALL_MARGIN,
                                  cancel=True, **keys)

    # -- the connection ----------------------------------------------------

    async def _read_loop(self) -> None:
        err: PeerError
        try:
            while True:
                msg = await _proto.read_frame(self._reader)
                if msg is None:
                    err = Unavailable(f"{self.path}: daemon closed the "
                                      "connection")
                    break
                if "id" in msg:
                    rid = msg["id"]
                    if (not isinstance(rid, int) or rid < 0
                            or ("result" in msg) == ("error" in msg)):
                        raise ProtocolError(f"malformed reply: {msg!r:.200}")
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
                                        f"nor an op: {msg!r:.200}")
        except PeerError as e:
            err = e
        except (ConnectionError, OSError) as e:
            err = Unavailable(f"{self.path}: {e}")
        except asyncio.CancelledError:
            err = Unavailable(f"{self.path}: connection closed")
        self._shutdown(err)

    def _shutdown(self, err: PeerError) -> None:
        if self._closed is None:
            self._closed = err
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(type(err)(err.message, err.context))
        self._pending.clear()
        self._writer.close()

    async def close(self) -> None:
        """Closes the connection; requests in flight fail Unavailable."""
        if not self._task.done():
            self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        self._shutdown(Unavailable(f"{self.path}: connection closed"))
        try:
            await self._writer.wait_closed()
        except (ConnectionError, OSError):
            pass

    async def __aenter__(self) -> "Node":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def connect(socket: str | None = None,
                  timeout: float = TIMEOUT_DEFAULT) -> Node:
    """Connects to peerd (socket, or the default of default_socket) and
    says hello.  Raises Unavailable if it cannot connect, Unimplemented
    if the daemon does not speak protocol 1."""
    path = default_socket(socket)
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_unix_connection(path), timeout)
    except (OSError, asyncio.TimeoutError) as e:
        raise Unavailable(f"{path}: cannot connect: {e or 'timed out'}") \
            from None
    node = Node(reader, writer, path)
    try:
        info = await node.request("hello", wait=timeout,
                                  protocol=PROTOCOL)
        if not isinstance(info, dict) or info.get("protocol") != PROTOCOL:
            raise Unimplemented(f"{path}: daemon speaks protocol "
                                f"{info.get('protocol') if isinstance(info, dict) else info!r}"
                                f", not {PROTOCOL}")
        node.info = info
    except BaseException:
        await node.close()
        raise
    return node
