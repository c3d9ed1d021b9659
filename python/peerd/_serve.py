# SPDX-License-Identifier: ISC
"""_serve.py: serving a service from Python (doc/PROTOCOL.md section 8
register/unregister, section 9 invoke/reply/cancelled).

A service is a set of methods, callables sync or async.  Each invoke
runs as a task of its own, at most `concurrency` at once per service,
with the Invocation in a contextvar (current_call()); the task's result
or exception becomes the reply.  A cancelled message cancels the task.
Services are registered again after every reconnection."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from ._conn import TIMEOUT_DEFAULT, Connection
from ._proto import is_uint
from .errors import (CODES, AlreadyExists, Cancelled, DeadlineExceeded,
                     Internal, InvalidArgument, NotFound, PeerError,
                     ResourceExhausted, Unavailable, Unimplemented, Unknown,
                     brief)

__all__ = ["Serving", "Invocation", "current_call", "CONCURRENCY_DEFAULT"]

log = logging.getLogger("peerd")

T = TypeVar("T")

CONCURRENCY_DEFAULT = 64        # handlers of one service running at once
# Invocations open at once in this client, waiting or running.  The
# daemon opens at most 65 536 calls that want an answer on a node;
# one-way calls it does not count, so this bounds them.
OPEN_MAX = 65_536
MESSAGE_MAX = 1 << 20           # bytes of an error message the daemon reads
TIMEOUT_MAX_MS = 86_400_000     # the longest deadline of a call, one day


@dataclass
class Invocation:
    """The call a handler is serving, from current_call().

    service, method, group (None if the registration has none), caller
    (the caller's node ID, the invoke's "from"), call (the daemon's
    invocation number), timeout (the caller's timeout, seconds),
    deadline (the loop.time() by which the caller stops waiting; it
    counts from when the invoke arrived, so the caller gives up a
    little sooner), oneway (a notify: the result goes nowhere),
    cancelled: set to True when the daemon says the call is no longer
    wanted (its caller cancelled it, its deadline passed, or the
    connection to the daemon was lost); a sync handler, which cannot be
    interrupted, may poll it; and verified: whether caller is a
    verified node ID (the call was authenticated end to end as that
    node's).  It is False only for a call from a node too old to
    authenticate its calls, taken by a daemon whose origin_auth is
    "auto", or with a daemon too old to say: then caller is only what
    was claimed, and should grant nothing."""

    service: str
    method: str
    group: str | None
    caller: str
    call: int
    timeout: float
    deadline: float
    oneway: bool
    cancelled: bool = False
    verified: bool = False
    _clock: Callable[[], float] = field(default=time.monotonic,
                                        repr=False, compare=False)

    def remaining(self) -> float:
        """Seconds left until the deadline, 0 once it has passed."""
        return max(0.0, self.deadline - self._clock())


_current: contextvars.ContextVar[Invocation] = \
    contextvars.ContextVar("peerd_invocation")


def current_call() -> Invocation:
    """The Invocation the running handler serves (a contextvar, so it
    is also seen in a sync handler's thread and in tasks the handler
    starts); LookupError outside a handler."""
    return _current.get()


class _Method:
    """One method: its callable, whether it is a coroutine function,
    and its signature (to tell bad arguments from the handler's own
    TypeError), None if it has none."""

    __slots__ = ("fn", "is_async", "signature")

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.is_async = inspect.iscoroutinefunction(fn)
        try:
            self.signature: inspect.Signature | None = inspect.signature(fn)
        except (ValueError, TypeError):
            self.signature = None

    async def run(self, args: tuple[Any, ...]) -> Any:
        if self.is_async:
            return await self.fn(*args)
        # In a thread, so a blocking method does not stop the loop;
        # to_thread carries the contextvar (current_call) along.
        result = await asyncio.to_thread(self.fn, *args)
        if inspect.isawaitable(result):
            result = await result
        return result


class _Service:
    """A (name, group) this client serves, and whether it is registered
    on the current connection."""

    def __init__(self, name: str, group: str | None,
                 concurrency: int) -> None:
        self.name = name
        self.group = group
        self.methods: dict[str, _Method] = {}
        self.slots = asyncio.Semaphore(concurrency)
        self.concurrency = concurrency
        self.registered = False
        self.lock = asyncio.Lock()      # one register/unregister at a time

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.name, self.group)

    @property
    def label(self) -> str:
        return self.name + (f" in group {self.group}" if self.group else "")

    def keys(self) -> dict[str, Any]:
        """The register/unregister request keys."""
        if self.group is None:
            return {"service": self.name}
        return {"service": self.name, "group": self.group}


def _methods_of(handler: Any) -> dict[str, Callable[..., Any]]:
    """The methods a handler offers: a dict's items, or an object's
    public routines (names not starting with "_"; properties and other
    attributes are not read)."""
    if isinstance(handler, dict):
        for k, v in handler.items():
            if not isinstance(k, str) or not k:
                raise InvalidArgument(f"method name {k!r} is not text")
            if not callable(v):
                raise InvalidArgument(f"method {k!r}: {v!r} is not callable")
        return dict(handler)
    if isinstance(handler, type):
        raise InvalidArgument(f"{handler.__name__} is a class: pass an "
                              "instance (the service decorator "
                              "instantiates classes)")
    methods: dict[str, Callable[..., Any]] = {}
    for name in dir(handler):
        if name.startswith("_"):
            continue
        static = inspect.getattr_static(handler, name, None)
        if isinstance(static, property):
            continue
        value = getattr(handler, name, None)
        if inspect.isroutine(value):
            methods[name] = value
    return methods


def _check_concurrency(concurrency: int) -> None:
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) \
            or concurrency < 1:
        raise InvalidArgument(f"concurrency {concurrency!r}: not an "
                              "integer of 1 or more")



def _describe(e: BaseException) -> tuple[str, dict[str, str]]:
    """The UNKNOWN message and context for an exception that is not a
    PeerError: "Type: text" and {"type": qualified name, "message"}."""
    cls = type(e)
    try:
        text = str(e)
    except Exception:
        text = "(unprintable)"
    qualified = cls.__qualname__ if cls.__module__ == "builtins" \
        else f"{cls.__module__}.{cls.__qualname__}"
    message = f"{cls.__name__}: {text}" if text else cls.__name__
    return message, {"type": qualified, "message": text}


def _error_value(code: str, message: str, context: Any) -> dict[str, Any]:
    """An error value the daemon accepts: a known code (UNKNOWN for
    any other), a message of at most 1 MiB, the context if not None."""
    if not isinstance(code, str) or code not in CODES:
        code = Unknown.code
    # Valid UTF-8 (no lone surrogates), cut at a character boundary.
    message = message.encode("utf-8", "replace")[:MESSAGE_MAX].decode(
        "utf-8", "ignore")
    value: dict[str, Any] = {"code": code, "message": message}
    if context is not None:
        value["context"] = context
    return value


class Serving(Connection):
    """Serving services: the service decorator, register, unregister.
    See the module docstring."""

    def __init__(self, socket: str | None = None, *,
                 timeout: float = TIMEOUT_DEFAULT,
                 reconnect: bool = True) -> None:
        super().__init__(socket, timeout=timeout, reconnect=reconnect)
        self._services: dict[tuple[str, str | None], _Service] = {}
        self._unstarted: list[_Service] = []    # decorated before a loop
        self._open: dict[int, tuple[asyncio.Future[Any], Invocation]] = {}
        self._epoch = 0                         # connections lost so far
        self._warned: set[str] = set()
        self.on_message("invoke", self._on_invoke)
        self.on_message("cancelled", self._on_cancelled)
        self.add_restorer(self._restore_services)
        self.on_drop(self._lost)

    # -- the public API ----------------------------------------------------

    def service(self, name: str, *, group: str | None = None,
                concurrency: int = CONCURRENCY_DEFAULT
                ) -> Callable[[T], T]:
        """Decorator.  On a function: serves it as method <function
        name> of service name (several functions may share a name; the
        service is registered once).  On a class: instantiates it with
        no arguments and serves its public methods.  Methods may be
        sync (run in a thread) or async.  Returns what it decorates,
        unchanged.

        Registration starts at once on the node's loop (from another
        thread too); a node not opened yet registers when serve_forever
        starts.  An error from it (InvalidArgument for a bad name,
        PermissionDenied, ...) is logged and raised by serve_forever.
        concurrency bounds the handlers of the service running at once;
        it is set by the first decoration of a service.  Raises
        AlreadyExists if the service already has a method of that name,
        InvalidArgument if the target is not a function or class."""
        _check_concurrency(concurrency)
        group = group or None

        def decorate(target: T) -> T:
            if isinstance(target, type):
                methods = _methods_of(target())
                if not methods:
                    raise InvalidArgument(f"{target.__name__} has no "
                                          "public methods to serve")
            elif callable(target):
                method = getattr(target, "__name__", None)
                if not isinstance(method, str) or not method:
                    raise InvalidArgument(f"{target!r} has no __name__ to "
                                          "serve it as")
                methods = {method: target}
            else:
                raise InvalidArgument(f"service {name}: {target!r} is "
                                      "neither a function nor a class")
            svc = self._services.get((name, group))
            new = svc is None
            if svc is None:
                svc = _Service(name, group, concurrency)
            self._add_methods(svc, methods)
            if new:
                self._services[svc.key] = svc
                self._start_registration(svc)
            return target
        return decorate

    async def register(self, name: str, handler: Any, *,
                       group: str | None = None,
                       concurrency: int = CONCURRENCY_DEFAULT) -> None:
        """Serves handler (an object whose public methods are the
        methods, or a dict of method name to callable) as service
        name, in group if given; registered again after every
        reconnection.  Raises the daemon's error (InvalidArgument,
        PermissionDenied, ResourceExhausted, ...; Unavailable while
        not connected), after which the service is not served, and
        AlreadyExists if this node serves name in group already."""
        _check_concurrency(concurrency)
        group = group or None
        methods = _methods_of(handler)
        if not methods:
            raise InvalidArgument(f"service {name}: {handler!r} has no "
                                  "public methods to serve")
        if (name, group) in self._services:
            raise AlreadyExists(f"{self._label(name, group)} is already "
                                "served by this node")
        svc = _Service(name, group, concurrency)
        self._add_methods(svc, methods)
        self._services[svc.key] = svc
        epoch = self._epoch
        try:
            await self._ensure_registered(svc)
        except BaseException as e:
            self._forget(svc)
            if isinstance(e, (asyncio.CancelledError, DeadlineExceeded)) \
                    and epoch == self._epoch:
                # The daemon may have registered it: undo that.
                self.spawn(self._unregister_quietly(svc))
            raise

    async def unregister(self, name: str, *,
                         group: str | None = None) -> None:
        """Stops serving name in group (open invocations go on).
        Raises NotFound if this node does not serve it."""
        group = group or None
        svc = self._services.pop((name, group), None)
        if svc is None:
            raise NotFound(f"{self._label(name, group)} is not served by "
                           "this node")
        async with svc.lock:
            if svc.registered:
                svc.registered = False
                try:
                    await self.request("unregister", **svc.keys())
                except Unavailable:
                    pass            # the registration died with the link

    async def serve_forever(self) -> None:
        """As Connection.serve_forever; also starts the registrations
        of services decorated before the node had a loop, and raises
        the error of a decorated service whose registration failed
        (here or when registering it again after a reconnection)."""
        pending, self._unstarted = self._unstarted, []
        for svc in pending:
            self._start_registration(svc)
        await super().serve_forever()

    # -- registering -------------------------------------------------------

    @staticmethod
    def _label(name: str, group: str | None) -> str:
        return name + (f" in group {group}" if group else "")

    @staticmethod
    def _add_methods(svc: _Service,
                     methods: dict[str, Callable[..., Any]]) -> None:
        for m in methods:
            if m in svc.methods:
                raise AlreadyExists(f"{svc.label}: method {m!r} is already "
                                    "served")
        for m, fn in methods.items():
            svc.methods[m] = _Method(fn)

    def _forget(self, svc: _Service) -> None:
        if self._services.get(svc.key) is svc:
            del self._services[svc.key]

    def _node_loop(self) -> asyncio.AbstractEventLoop | None:
        """The loop the connection runs on, None before open()."""
        reading = self._reading
        return reading.get_loop() if reading is not None else None

    def _start_registration(self, svc: _Service) -> None:
        """Registers svc in the background on the node's loop."""
        loop = self._node_loop()
        try:
            running: asyncio.AbstractEventLoop | None = \
                asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is None or loop.is_closed():
            self._unstarted.append(svc)     # not opened yet
        elif loop is running:
            self.spawn(self._register_in_background(svc))
        else:
            loop.call_soon_threadsafe(
                lambda: self.spawn(self._register_in_background(svc)))

    async def _ensure_registered(self, svc: _Service) -> None:
        """Registers svc unless it is registered already or no longer
        served."""
        async with svc.lock:
            if svc.registered or self._services.get(svc.key) is not svc:
                return
            epoch = self._epoch
            await self.request("register", **svc.keys())
            # Lost and found again meanwhile: the restorer registers it.
            svc.registered = epoch == self._epoch

    async def _register_in_background(self, svc: _Service) -> None:
        try:
            await self._ensure_registered(svc)
        except Unavailable:
            pass                # kept: registered once connected again
        except PeerError as e:
            self._forget(svc)
            log.error("peerd: cannot serve %s: %s", svc.label, e)
            self.fail(e)

    async def _unregister_quietly(self, svc: _Service) -> None:
        try:
            await self.request("unregister", **svc.keys())
        except PeerError:
            pass

    async def _restore_services(self) -> None:
        for svc in list(self._services.values()):
            if not self.connected:
                return
            await self._register_in_background(svc)

    # -- invocations -------------------------------------------------------

    def _warn_once(self, what: str, msg: dict[str, Any]) -> None:
        level = logging.DEBUG if what in self._warned else logging.WARNING
        self._warned.add(what)
        log.log(level, "peerd: ignoring a malformed %s message: %s",
                what, brief(msg))

    def _refuse(self, call: int, oneway: bool, err: PeerError) -> None:
        if not oneway:
            self._send_error(call, err.code, err.message, err.context)

    def _send_error(self, call: int, code: str, message: str,
                    context: Any) -> None:
        try:
            self.send("reply", call=call,
                      error=_error_value(code, message, context))
        except Exception as e:
            log.warning("peerd: the context of a %s error cannot be sent: "
                        "%s", code, e)
            self.send("reply", call=call, error=_error_value(
                code, f"{message} (context dropped: it cannot be encoded)",
                None))

    def _on_invoke(self, msg: dict[str, Any]) -> None:
        call: Any = msg.get("call")
        if not is_uint(call):
            self._warn_once("invoke", msg)      # nobody to answer
            return
        oneway: Any = msg.get("oneway", False)
        service: Any = msg.get("service")
        method: Any = msg.get("method")
        group: Any = msg.get("group", "")
        caller: Any = msg.get("from", "")
        verified: Any = msg.get("verified", False)
        timeout_ms: Any = msg.get("timeout", round(TIMEOUT_DEFAULT * 1000))
        bad = next((k for k, ok in (
            ("oneway", isinstance(oneway, bool)),
            ("service", isinstance(service, str)),
            ("method", isinstance(method, str)),
            ("group", isinstance(group, str)),
            ("from", isinstance(caller, str)),
            ("verified", isinstance(verified, bool)),
            ("timeout", is_uint(timeout_ms))) if not ok), None)
        if bad is not None:
            self._warn_once("invoke", msg)
            self._refuse(call, oneway is True, InvalidArgument(
                f"malformed invoke from peerd: {bad}"))
            return
        if call in self._open:
            self._warn_once("invoke", msg)      # a number still open
            return
        svc = self._services.get((service, group or None))
        if svc is None:
            self._refuse(call, oneway, Unimplemented(
                f"no service {self._label(service, group)} here"))
            return
        m = svc.methods.get(method)
        if m is None:
            self._refuse(call, oneway, Unimplemented(
                f"service {service} has no method {method!r}"))
            return
        if len(self._open) >= OPEN_MAX:
            log.warning("peerd: %d invocations open; refusing %s.%s",
                        OPEN_MAX, service, method)
            self._refuse(call, oneway, ResourceExhausted(
                f"{OPEN_MAX} invocations open in the serving client"))
            return
        args: tuple[Any, ...] = ()
        if "args" in msg:
            a = msg["args"]
            args = tuple(a) if isinstance(a, list) else (a,)
        loop = asyncio.get_running_loop()
        # A call's deadline is at most a day; a longer one (from a
        # broken daemon) is cut to that, not a float overflow.
        timeout = min(timeout_ms, TIMEOUT_MAX_MS) / 1000
        inv = Invocation(service, method, group or None, caller, call,
                         timeout, loop.time() + timeout, oneway,
                         verified=verified, _clock=loop.time)
        task = self.spawn(self._serve_one(svc, m, inv, args, self._epoch))
        self._open[call] = (task, inv)
        task.add_done_callback(lambda t: self._closed_call(call, t))

    def _closed_call(self, call: int, task: asyncio.Future[Any]) -> None:
        entry = self._open.get(call)
        if entry is not None and entry[0] is task:
            del self._open[call]

    def _on_cancelled(self, msg: dict[str, Any]) -> None:
        call: Any = msg.get("call")
        if not is_uint(call):
            self._warn_once("cancelled", msg)
            return
        entry = self._open.get(call)
        if entry is None:
            return              # answered already, or never ours
        task, inv = entry
        inv.cancelled = True
        task.cancel()

    def _lost(self, err: PeerError) -> None:
        """The connection is gone: so are the registrations and the
        invocations (their replies cannot be delivered)."""
        self._epoch += 1
        for svc in self._services.values():
            svc.registered = False
        for task, inv in list(self._open.values()):
            inv.cancelled = True
            task.cancel()
        self._open.clear()

    async def _serve_one(self, svc: _Service, m: _Method, inv: Invocation,
                         args: tuple[Any, ...], epoch: int) -> None:
        _current.set(inv)
        # The reply is sent, and drained, within the slot: a daemon slow
        # to read holds the handlers back rather than replies piling up.
        async with svc.slots:
            await self._answer(m, inv, args, epoch)
            await self.drain()

    async def _answer(self, m: _Method, inv: Invocation,
                      args: tuple[Any, ...], epoch: int) -> None:
        what = f"{inv.service}.{inv.method}"
        error: tuple[str, str, Any] | None = None
        result: Any = None
        try:
            if m.signature is not None:
                try:
                    m.signature.bind(*args)
                except TypeError as e:
                    raise InvalidArgument(f"{what}: {e}") from None
            result = await m.run(args)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if inv.cancelled or (task is not None and task.cancelling()):
                raise           # called off: nobody wants the answer
            error = (Cancelled.code, f"{what}: the handler was cancelled",
                     None)
        except PeerError as e:
            log.debug("peerd: %s: %s", what, e)
            error = (e.code, str(e.message), e.context)
        except Exception as e:
            log.error("peerd: %s raised", what, exc_info=True)
            message, context = _describe(e)
            error = (Unknown.code, message, context)
        if inv.oneway or inv.cancelled or epoch != self._epoch:
            return
        if error is not None:
            self._send_error(inv.call, *error)
            return
        try:
            self.send("reply", call=inv.call, result=result)
        except Exception as e:
            log.error("peerd: %s: its result cannot be sent: %s", what, e)
            msg = e.message if isinstance(e, PeerError) else str(e)
            self._send_error(inv.call, Internal.code,
                             f"{what}: the result cannot be encoded: {msg}",
                             None)

