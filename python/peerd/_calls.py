# SPDX-License-Identifier: ISC
"""_calls.py: calling services: call, notify, fan-out (call_all) and
proxies (doc/PROTOCOL.md section 8: call, notify, cancel)."""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Any, AsyncGenerator, Coroutine

from ._conn import TIMEOUT_DEFAULT, Connection
from .errors import (InvalidArgument, PeerError, ProtocolError, brief,
                     error_from_wire)

__all__ = ["Calls", "Answer", "Proxy", "ProxyMethod", "split_name"]

log = logging.getLogger("peerd")

CALL_MARGIN = 1.0               # seconds a call waits past its deadline
# Unread answers kept per fan-out call.  A daemon sends one per provider
# node, and knows at most 4096 members (MEMBERS_MAX); more is a broken
# daemon, and the rest are dropped.
ANSWERS_MAX = 4096


def split_name(service_method: str) -> tuple[str, str]:
    """("svc", "m") for "svc.m", split at the last dot."""
    service, dot, method = service_method.rpartition(".")
    if not dot or not service or not method:
        raise InvalidArgument(f"{service_method!r}: not service.method")
    return service, method


def call_args(args: tuple[Any, ...]) -> dict[str, Any]:
    """The "args" key for a call's positional arguments: none, that
    item, or an array of them."""
    if len(args) == 1:
        return {"args": args[0]}
    return {"args": list(args)} if args else {}


def call_keys(service: str, method: str, args: tuple[Any, ...],
              timeout: float, to: str | None) -> dict[str, Any]:
    """The keys of a call or notify request.  Raises InvalidArgument
    for a timeout outside 1 ms to one day."""
    ms = timeout_ms(timeout)
    keys: dict[str, Any] = {"service": service, "method": method,
                            "timeout": ms, **call_args(args)}
    if to is not None:
        keys["to"] = to
    return keys


def timeout_ms(timeout: float) -> int:
    """timeout (seconds) in milliseconds, as the daemon takes it."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) \
            or (isinstance(timeout, float) and not math.isfinite(timeout)):
        raise InvalidArgument(f"timeout {timeout!r}: not a number of "
                              "seconds")
    ms = round(timeout * 1000)
    if not 1 <= ms <= 86_400_000:
        raise InvalidArgument(f"timeout {timeout} s out of range "
                              "(0.001 s to one day)")
    return ms


class Answer:
    """One provider's answer to a fan-out call (call_all): node, the
    provider's node ID (52 characters); name, its node name; and either
    result, the app's result, or error, the PeerError that ended this
    provider's call (error is None for a result)."""

    __slots__ = ("node", "name", "result", "error")

    def __init__(self, node: str, name: str, result: Any = None,
                 error: PeerError | None = None) -> None:
        self.node = node
        self.name = name
        self.result = result
        self.error = error

    @property
    def ok(self) -> bool:
        """Whether the provider answered with a result."""
        return self.error is None

    def value(self) -> Any:
        """The result; raises the error if the provider's call failed."""
        if self.error is not None:
            raise type(self.error)(self.error.message, self.error.context)
        return self.result

    @classmethod
    def from_wire(cls, entry: Any) -> Answer | None:
        """The Answer an entry ({"node", "name", "result" or "error"})
        holds; None if it is malformed."""
        if not isinstance(entry, dict):
            return None
        node, name = entry.get("node"), entry.get("name")
        if not isinstance(node, str) or not isinstance(name, str) \
                or ("result" in entry) == ("error" in entry):
            return None
        if "result" in entry:
            return cls(node, name, result=entry["result"])
        error = error_from_wire(entry["error"])
        if isinstance(error, ProtocolError):
            return None
        return cls(node, name, error=error)

    def __repr__(self) -> str:
        outcome = (f"result={brief(self.result)}" if self.error is None
                   else f"error={brief(self.error)}")
        return f"Answer(node={self.node!r}, name={self.name!r}, {outcome})"


class Proxy:
    """A service as an object: node.proxy("calc").add(2, 3) is
    node.call_method("calc", "add", 2, 3, timeout=, to=) with the
    proxy's timeout and to.  Any attribute not starting with "_" names
    a method; proxy["name"] names any method, one that is not an
    identifier ("stats.reset") or that starts with "_" included."""

    __slots__ = ("_node", "_service", "_timeout", "_to")

    _node: Calls
    _service: str
    _timeout: float
    _to: str | None

    def __init__(self, node: Calls, service: str, *, timeout: float,
                 to: str | None) -> None:
        timeout_ms(timeout)             # raises now, not at each call
        self._node = node
        self._service = service
        self._timeout = timeout
        self._to = to

    def __getattr__(self, method: str) -> ProxyMethod:
        # Python looks up its own protocols (__await__, _fields, ...) by
        # attribute: "_" names must stay missing, not become calls.
        if method.startswith("_"):
            raise AttributeError(f"{method!r}: a name starting with '_' "
                                 f"is not a method of the proxy; use "
                                 f"proxy[{method!r}]")
        return ProxyMethod(self, method)

    def __getitem__(self, method: str) -> ProxyMethod:
        if not isinstance(method, str):
            raise TypeError(f"a method name is text, not "
                            f"{type(method).__name__}")
        return ProxyMethod(self, method)

    def __repr__(self) -> str:
        to = "" if self._to is None else f", to={self._to!r}"
        return (f"<Proxy {self._service!r} via {self._node.path}, "
                f"timeout={self._timeout:g} s{to}>")


class ProxyMethod:
    """A method of a Proxy: calling it returns the call's coroutine."""

    __slots__ = ("proxy", "method")

    def __init__(self, proxy: Proxy, method: str) -> None:
        self.proxy = proxy
        self.method = method

    def __call__(self, *args: Any) -> Coroutine[Any, Any, Any]:
        p = self.proxy
        return p._node.call_method(p._service, self.method, *args,
                                   timeout=p._timeout, to=p._to)

    def __repr__(self) -> str:
        return f"<ProxyMethod {self.method!r} of {self.proxy!r}>"


class _FanOut:
    """The answers of one fan-out call on their way to its iterator;
    None in the queue ends them."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Answer | None] = asyncio.Queue()
        self.call_id: int | None = None
        self.messages = 0               # answer messages, dropped included
        self.dropped = 0


class Calls(Connection):

    def __init__(self, socket: str | None = None, *,
                 timeout: float = TIMEOUT_DEFAULT,
                 reconnect: bool = True) -> None:
        super().__init__(socket, timeout=timeout, reconnect=reconnect)
        self._fan_outs: dict[int, _FanOut] = {}
        self._bad_answer_logged = False
        self.on_message("answer", self._on_answer)

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
        service, method = split_name(service_method)
        return await self.call_method(service, method, *args,
                                      timeout=timeout, to=to)

    async def call_method(self, service: str, method: str, *args: Any,
                          timeout: float = TIMEOUT_DEFAULT,
                          to: str | None = None) -> Any:
        """As call, with the service and the method apart."""
        keys = call_keys(service, method, args, timeout, to)
        # The daemon answers by the deadline; wait a margin past it.
        return await self.request("call", wait=timeout + CALL_MARGIN,
                                  cancel=True, **keys)

    async def notify(self, service_method: str, *args: Any,
                     timeout: float = TIMEOUT_DEFAULT,
                     to: str | None = None, all: bool = False) -> int:
        """A one-way call: the provider's app gets the invoke (with
        oneway true and timeout, in seconds as for call), and nothing
        waits for an answer.  Arguments, to and the choice of provider
        are as for call; with all, every provider node is sent it.

        The daemon confirms only that it handed the call on: the result
        is the number of provider nodes it was handed to (1 without
        all).  It does not confirm delivery: a provider it cannot reach
        now is skipped, and errors on the way or at the provider's node
        (no such service there, a serving client gone or full, access
        rules refusing it) are never reported.  Raises NotFound if no
        provider matches, Unavailable if it could be handed to none,
        InvalidArgument, ResourceExhausted (args over max_message) or
        PermissionDenied as call does at once."""
        service, method = split_name(service_method)
        keys = call_keys(service, method, args, timeout, to)
        if all:
            keys["all"] = True
        result = await self.request("notify", **keys)
        sent = result.get("sent") if isinstance(result, dict) else None
        if not isinstance(sent, int) or isinstance(sent, bool) or sent < 0:
            raise ProtocolError(f"notify: malformed result: {brief(result)}")
        return sent

    def call_all(self, service_method: str, *args: Any,
                 timeout: float = TIMEOUT_DEFAULT,
                 to: str | None = None) -> AsyncGenerator[Answer, None]:
        """Calls every provider of a service (each provider node once,
        or those to selects) and yields each one's Answer as it
        arrives; the iteration ends when all have answered, or at the
        deadline, by which the unanswered ones come as answers with
        DeadlineExceeded.  Arguments, timeout and to are as for call;
        InvalidArgument for a bad name or timeout is raised here, and
        the call is sent when the iteration starts.

        A provider's failure is its Answer's error, not raised; the
        errors of the call itself (NotFound: no provider;
        InvalidArgument, PermissionDenied, ResourceExhausted; or
        Unavailable if the connection is lost) are raised by the
        iteration.  Leaving the iteration early, by aclose() (or
        `async with contextlib.aclosing(...)` around a loop that
        breaks), or cancelling the task iterating it, cancels the
        call: the providers still working hear cancelled."""
        service, method = split_name(service_method)
        keys = call_keys(service, method, args, timeout, to)
        return self._fan_out(keys, timeout)

    async def _fan_out(self, keys: dict[str, Any],
                       timeout: float) -> AsyncGenerator[Answer, None]:
        fan = _FanOut()

        def route(call_id: int) -> None:
            fan.call_id = call_id
            self._fan_outs[call_id] = fan

        async def run() -> Any:
            try:
                return await self.request(
                    "call", wait=timeout + CALL_MARGIN, cancel=True,
                    on_id=route, all=True, progress=True, **keys)
            finally:
                if fan.call_id is not None:
                    self._fan_outs.pop(fan.call_id, None)
                fan.queue.put_nowait(None)

        task = asyncio.get_running_loop().create_task(run())
        # Its error is raised below, or of no interest once abandoned.
        task.add_done_callback(
            lambda t: None if t.cancelled() else t.exception())
        try:
            while (answer := await fan.queue.get()) is not None:
                yield answer
            result = await task
        finally:
            if not task.done():
                task.cancel()           # request() sends the cancel
                await asyncio.wait({task})
        count = result.get("answers") if isinstance(result, dict) else None
        # At most one answer per member: a count past a CBOR uint is no
        # count (and would not even print).
        if not isinstance(count, int) or isinstance(count, bool) \
                or not 0 <= count < 1 << 64:
            raise ProtocolError(f"call: malformed reply to a fan-out: "
                                f"{brief(result)}")
        if count != fan.messages:
            log.warning("peerd: a fan-out call of %s.%s: the daemon counts "
                        "%d answers, %d came", keys["service"],
                        keys["method"], count, fan.messages)

    def _on_answer(self, msg: dict[str, Any]) -> None:
        call_id = msg.get("call")
        fan = (self._fan_outs.get(call_id) if isinstance(call_id, int)
               else None)
        if fan is None:
            return              # a call no longer waited for: ignored
        fan.messages += 1
        answer = Answer.from_wire(msg.get("answer"))
        if answer is None:
            if not self._bad_answer_logged:
                self._bad_answer_logged = True
                log.warning("peerd: malformed answer message dropped "
                            "(further ones silently): %s", brief(msg))
            return
        if fan.queue.qsize() >= ANSWERS_MAX:
            if not fan.dropped:
                log.warning("peerd: a fan-out call has %d answers unread; "
                            "dropping more", ANSWERS_MAX)
            fan.dropped += 1
            return
        fan.queue.put_nowait(answer)

    def proxy(self, service: str, *, timeout: float = TIMEOUT_DEFAULT,
              to: str | None = None) -> Proxy:
        """A proxy of service: proxy.method(*args) returns the
        coroutine of call_method(service, "method", *args, timeout=,
        to=); proxy["dotted.name"](*args) for a method name that is not
        an identifier.  Raises InvalidArgument for a bad timeout."""
        return Proxy(self, service, timeout=timeout, to=to)
