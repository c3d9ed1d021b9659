# SPDX-License-Identifier: ISC
"""_sync.py: the synchronous facade for scripts: connect_sync runs a
Node on an event loop in a thread of its own (a Runner), and SyncNode's
methods run the Node's there and wait for them."""

from __future__ import annotations

import functools
from typing import Any, Awaitable, Callable, Concatenate, Generic, \
    Iterator, ParamSpec, Protocol, TypeVar, cast

from ._calls import Answer
from ._conn import TIMEOUT_DEFAULT
from ._events import QUEUE_DEFAULT, Event
from ._kv import SyncKV
from ._runner import Runner, RunnerClosed
from ._serve import CONCURRENCY_DEFAULT
from .node import Node, connect

__all__ = ["SyncNode", "SyncProxy", "SyncStream", "connect_sync"]

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
F = TypeVar("F", bound=Callable[..., Any])


def _blocking(method: Callable[Concatenate[Node, P], Awaitable[R]]
              ) -> Callable[Concatenate["SyncNode", P], R]:
    """The blocking form of a Node coroutine method: same arguments,
    same result and exceptions."""
    @functools.wraps(method)
    def blocking(self: SyncNode, /, *args: P.args,
                 **kwargs: P.kwargs) -> R:
        return self._runner.run(method(self._node, *args, **kwargs))
    blocking.__module__ = __name__
    blocking.__qualname__ = f"SyncNode.{method.__name__}"
    return blocking


class _AsyncStream(Protocol[T_co]):
    """What SyncStream uses of a Subscription or a MembershipWatch."""

    def __anext__(self) -> Awaitable[T_co]: ...
    def close(self) -> Awaitable[None]: ...


class _AsyncSubscription(_AsyncStream[Event], Protocol):
    def __aenter__(self) -> Awaitable[Any]: ...


class SyncNode:
    """A Node for code without asyncio: each method blocks until the
    Node's coroutine of the same name is done on the node's loop, and
    returns its result or raises its exception.  It may be used from
    several threads at once.  Interrupting a blocking method
    (KeyboardInterrupt) cancels what it waits for, as cancelling the
    task would: an interrupted call is cancelled at the daemon.

    Sync handlers given to service() and on() run in worker threads,
    not on the loop, and may call the SyncNode's methods (async ones run
    on the loop, and must not).  After close(), every method raises
    Unavailable.  kv is the key-value store, dict-like and blocking
    (SyncKV).  Make one with peerd.connect_sync()."""

    def __init__(self, node: Node, runner: Runner) -> None:
        self._node = node
        self._runner = runner
        self.kv = SyncKV(node.kv, runner)

    # -- the connection --------------------------------------------------

    @property
    def node(self) -> Node:
        """The async Node underneath; its coroutines run only on its
        loop: pass them to run()."""
        return self._node

    @property
    def info(self) -> dict[str, Any]:
        """The daemon's hello: protocol, version, node (ID), name."""
        return self._node.info

    @property
    def path(self) -> str:
        """The socket the node connects to."""
        return self._node.path

    @property
    def connected(self) -> bool:
        """Whether the node is connected now (False while it
        reconnects, and once closed)."""
        return self._node.connected

    @property
    def closed(self) -> bool:
        """Whether the node is closed for good."""
        return self._runner.closed or self._node.closed

    def run(self, aw: Awaitable[T]) -> T:
        """Runs a coroutine of the async node (or any awaitable) on the
        node's loop, and returns its result."""
        return self._runner.run(aw)

    request = _blocking(Node.request)
    wait_connected = _blocking(Node.wait_connected)

    def serve_forever(self) -> None:
        """Blocks until the node is closed (by close() from another
        thread or a handler), and returns.  Raises the error that ended
        the node if that was not close() (reconnect=False, or a daemon
        that broke the protocol).  Ctrl-C (KeyboardInterrupt) closes
        the node and returns."""
        try:
            self._runner.run(self._node.serve_forever())
        except RunnerClosed:
            return                  # close() ended the wait
        except KeyboardInterrupt:
            self.close()

    def close(self) -> None:
        """Closes the node, stops its loop and joins its threads; a
        handler still running in a worker thread is waited for (a
        thread cannot be interrupted), unless close() is called from
        that handler.  Idempotent."""
        if self._runner.closed:
            return
        try:
            self._runner.run(self._node.close())
        finally:
            self._runner.close()

    def __enter__(self) -> SyncNode:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- calls -------------------------------------------------------------

    call = _blocking(Node.call)
    call_method = _blocking(Node.call_method)
    notify = _blocking(Node.notify)

    def call_all(self, service_method: str, *args: Any,
                 timeout: float = TIMEOUT_DEFAULT,
                 to: str | None = None) -> Iterator[Answer]:
        """Calls every provider; a blocking iterator that yields each
        Answer as it arrives.  Closing it early (break, then close(),
        or garbage collection) calls off the rest."""
        answers = self._runner.call(lambda: self._node.call_all(
            service_method, *args, timeout=timeout, to=to))
        return self._runner.iterate(answers)

    def proxy(self, service: str, *, timeout: float = TIMEOUT_DEFAULT,
              to: str | None = None) -> SyncProxy:
        """A proxy of service whose methods block:
        sn.proxy("calc").add(2, 3) returns the answer."""
        return SyncProxy(self, service, timeout=timeout, to=to)

    # -- serving -----------------------------------------------------------

    def service(self, name: str, *, group: str | None = None,
                concurrency: int = CONCURRENCY_DEFAULT
                ) -> Callable[[T], T]:
        """Decorator, as Node.service: on a function, serves it as
        method <function name> of service name; on a class,
        instantiates it with no arguments and serves its public
        methods.  Sync methods run in worker threads; concurrency
        bounds the handlers running at once.  Registration starts at
        once; an error from it is raised by serve_forever()."""
        def decorate(obj: T) -> T:
            return self._runner.call(lambda: self._node.service(
                name, group=group, concurrency=concurrency)(obj))
        return decorate

    register = _blocking(Node.register)
    unregister = _blocking(Node.unregister)

    # -- events ------------------------------------------------------------

    publish = _blocking(Node.publish)

    def subscribe(self, *patterns: str, queue: int = QUEUE_DEFAULT
                  ) -> SyncStream[Event]:
        """Subscribes to topics matching patterns, and returns once the
        daemon has taken the subscription: a blocking iterator of
        Event, and a context manager; close() unsubscribes.  Events
        beyond queue unread are dropped and counted in the next one's
        lost."""
        sub = cast(_AsyncSubscription, self._runner.call(
            lambda: self._node.subscribe(*patterns, queue=queue)))
        self._runner.run(sub.__aenter__())
        return SyncStream(sub, self._runner)

    def on(self, *patterns: str, queue: int = QUEUE_DEFAULT
           ) -> Callable[[F], F]:
        """Decorator, as Node.on: calls the function with each Event
        whose topic matches, one at a time; a sync function runs in a
        worker thread.  Events beyond queue waiting for it are
        dropped and counted in ev.lost."""
        def decorate(fn: F) -> F:
            return self._runner.call(
                lambda: self._node.on(*patterns, queue=queue)(fn))
        return decorate

    # -- membership and status ---------------------------------------------

    status = _blocking(Node.status)
    peers = _blocking(Node.peers)
    members = _blocking(Node.members)
    services = _blocking(Node.services)
    topics = _blocking(Node.topics)
    ping = _blocking(Node.ping)

    def watch(self, *, members: bool = True, services: bool = True,
              queue: int = 1024) -> SyncStream[dict[str, Any]]:
        """As Node.watch: returns once the daemon watches; a blocking
        iterator of change maps, and a context manager; close() stops
        watching."""
        return SyncStream(self._runner.run(self._node.watch(
            members=members, services=services, queue=queue)), self._runner)


class SyncProxy:
    """sn.proxy("calc").add(2, 3): attribute access names the method
    (a name starting with "_" is not one), and proxy["stats.reset"]
    any method, as on Proxy; calling it is sn.call_method(service,
    method, *args, timeout=, to=), blocking."""

    def __init__(self, node: SyncNode, service: str, *, timeout: float,
                 to: str | None) -> None:
        self._node = node
        self._service = service
        self._timeout = timeout
        self._to = to

    def __getattr__(self, method: str) -> Callable[..., Any]:
        if method.startswith("_"):
            raise AttributeError(f"{method!r}: a name starting with '_' "
                                 f"is not a method of the proxy; use "
                                 f"proxy[{method!r}]")
        return self[method]

    def __getitem__(self, method: str) -> Callable[..., Any]:
        if not isinstance(method, str):
            raise TypeError(f"a method name is text, not "
                            f"{type(method).__name__}")

        def call(*args: Any) -> Any:
            return self._node.call_method(self._service, method, *args,
                                          timeout=self._timeout, to=self._to)
        call.__name__ = call.__qualname__ = method
        return call

    def __repr__(self) -> str:
        return f"<SyncProxy {self._service!r}>"


class SyncStream(Generic[T]):
    """`for ev in sn.subscribe("sensor.*")`, `for change in
    sn.watch()`: a blocking iterator over the async one; a context
    manager; close() unsubscribes or stops watching, and ends the
    iteration."""

    def __init__(self, sub: _AsyncStream[T], runner: Runner) -> None:
        self._sub = sub
        self._runner = runner

    def __iter__(self) -> SyncStream[T]:
        return self

    def __next__(self) -> T:
        try:
            return self._runner.run(self._sub.__anext__())
        except StopAsyncIteration:
            raise StopIteration from None

    def close(self) -> None:
        """Ends the stream; idempotent."""
        if not self._runner.closed:
            self._runner.run(self._sub.close())

    def __enter__(self) -> SyncStream[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect_sync(socket: str | None = None, *,
                 timeout: float = TIMEOUT_DEFAULT,
                 reconnect: bool = True) -> SyncNode:
    """Connects to peerd as peerd.connect() does, on an event loop in a
    thread of its own, and returns the blocking SyncNode.  Raises as
    connect() does."""
    runner = Runner()
    try:
        node = runner.run(connect(socket, timeout=timeout,
                                  reconnect=reconnect))
    except BaseException:
        runner.close()
        raise
    return SyncNode(node, runner)
