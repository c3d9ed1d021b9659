# SPDX-License-Identifier: ISC
"""_events.py: publishing and subscribing (doc/PROTOCOL.md section 8
subscribe/unsubscribe/publish, section 10 event).

The daemon sends a client each event once, however many of its
patterns match; the node hands it to every local Subscription (and
@on handler) with a matching pattern.  Each pattern is subscribed at
the daemon once, however many local subscriptions use it, and
unsubscribed when the last of them closes."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import inspect
import logging
import re
from typing import Any, Callable, Generator, Iterable, TypeVar

from ._conn import Connection, _ClosedByUser
from ._proto import is_uint
from .errors import (AlreadyExists, InvalidArgument, NotFound, PeerError,
                     ProtocolError, Unavailable, brief)

__all__ = ["Events", "Event", "Subscription", "topic_matches"]

log = logging.getLogger("peerd")

T = TypeVar("T", bound=Callable[..., Any])

TOPIC_MAX = 64
QUEUE_DEFAULT = 1024
_TOPIC = re.compile(r"[a-z0-9_.\-]{1,64}")
_TOPIC_RULE = "1-64 lowercase letters, digits, '-', '_' or '.'"


def _check_topic(topic: object) -> str:
    """topic if it is a topic (not a pattern); InvalidArgument if not."""
    if not isinstance(topic, str):
        raise InvalidArgument(f"topic: not text: {topic!r:.80}")
    if not _TOPIC.fullmatch(topic):
        raise InvalidArgument(f"topic {topic!r:.80}: not a topic of "
                              f"{_TOPIC_RULE}")
    return topic


def _check_pattern(pattern: object) -> str:
    """pattern if it is one (a topic, a topic followed by ".*", or "*",
    at most 64 bytes); InvalidArgument if not."""
    if not isinstance(pattern, str):
        raise InvalidArgument(f"pattern: not text: {pattern!r:.80}")
    if pattern == "*" or (len(pattern) <= TOPIC_MAX and (
            _TOPIC.fullmatch(pattern) or (
                pattern.endswith(".*") and len(pattern) >= 3
                and _TOPIC.fullmatch(pattern[:-1])))):
        return pattern
    raise InvalidArgument(f"pattern {pattern!r:.80}: not a pattern of "
                          f"{_TOPIC_RULE}, or such a prefix ending in "
                          '".*", or "*"')


def topic_matches(pattern: str, topic: str) -> bool:
    """Whether pattern matches topic, as the daemon decides: a topic
    matches itself only; "p.*" matches every topic that begins with
    "p." and has at least one more byte; "*" matches every topic."""
    if pattern.endswith("*"):
        prefix = pattern[:-1]
        return len(topic) > len(prefix) and topic.startswith(prefix)
    return pattern == topic


@dataclasses.dataclass(frozen=True, slots=True)
class Event:
    """One event, as a Subscription hands it out.

    topic: the topic it was published on (not the pattern that
    matched); data: the publisher's item, None if it gave none; node:
    the publisher's node ID; name: its node name ("" if unknown here);
    seq: the publisher's sequence number (increasing per publisher
    run, not per topic); verified: whether node is a verified node ID
    (the event was authenticated end to end as that node's, or was
    published on this node's daemon).  It is False only for an event
    from a node too old to authenticate its events, taken by a daemon
    whose origin_auth is "auto", or with a daemon too old to say.

    lost: how many events this subscription missed just before this
    one, counted: those the daemon dropped for the connection because
    the client did not read (it counts per connection, not per
    pattern, so its count is added to every subscription of the node)
    plus those this subscription dropped because its queue was full.

    reconnected: True on the first event after the connection to the
    daemon was lost and made again; events published meanwhile are
    lost and not counted in lost."""

    topic: str
    data: Any
    node: str
    name: str
    seq: int
    lost: int = 0
    reconnected: bool = False
    verified: bool = False


class _Stop(Exception):
    """The end of a subscription closed by its owner."""



def _event_from_wire(msg: dict[str, Any]) -> tuple[Event, int] | None:
    """The Event in an event message and the daemon's lost count, or
    None if the message is malformed."""
    topic, node, name = msg.get("topic"), msg.get("node"), msg.get("name")
    seq, lost = msg.get("seq"), msg.get("lost", 0)
    verified = msg.get("verified", False)
    if not (isinstance(topic, str) and isinstance(node, str)
            and isinstance(name, str) and isinstance(verified, bool)):
        return None
    if not (is_uint(seq) and is_uint(lost)):
        return None
    return Event(topic, msg.get("data"), node, name, seq,
                 verified=verified), lost


class Subscription:
    """Events whose topic matches one of patterns, in the order they
    arrive (per publisher, the order they were published):

        async with node.subscribe("sensor.*") as sub:
            async for ev in sub:
                ...

    `await node.subscribe(...)` (or entering `async with`) returns
    once the daemon has confirmed the subscription, and raises its
    error if it refused; iterating waits for that too.  `await
    sub.close()` unsubscribes and ends the iteration; events queued
    and unread are dropped.  A subscription that is neither closed
    nor used in `async with` stays subscribed as long as the node.

    Up to queue events wait unread; more are dropped, and counted in
    the lost of the next Event this subscription hands out.  The
    subscription is made again after every reconnection.  When the
    node is closed the iteration ends after the queued events; when
    the node ends with an error it raises that error instead."""

    def __init__(self, node: Events, patterns: tuple[str, ...],
                 queue: int) -> None:
        self.patterns = patterns
        self._node = node
        self._max = queue
        self._exact = frozenset(p for p in patterns if not p.endswith("*"))
        self._prefixes = tuple(p[:-1] for p in patterns if p.endswith("*"))
        self._queue: collections.deque[Event] = collections.deque()
        # An Event, not one future: every task iterating wakes.
        self._arrived = asyncio.Event()
        self._lost = 0              # to report on the next event
        self._reconnected = False   # to report on the next event
        self._end: PeerError | _Stop | None = None
        self._acquired = False      # its patterns count at the daemon
        self._closing = False
        self._start = asyncio.get_running_loop().create_task(self._begin())

    def __repr__(self) -> str:
        return f"<Subscription {' '.join(self.patterns)}>"

    @property
    def pending(self) -> int:
        """How many events wait unread (they are handed out at once)."""
        return len(self._queue)

    @property
    def closed(self) -> bool:
        return self._closing

    def matches(self, topic: str) -> bool:
        """Whether one of its patterns matches topic."""
        if topic in self._exact:
            return True
        return any(len(topic) > len(p) and topic.startswith(p)
                   for p in self._prefixes)

    # -- setup and teardown ----------------------------------------------

    async def _begin(self) -> None:
        try:
            await self._node._ev_acquire(self.patterns)
        except PeerError as e:
            self._node._ev_detach(self)
            self._finish(e)
            return
        self._acquired = True

    async def _ready(self) -> Subscription:
        await asyncio.shield(self._start)
        if not self._acquired and isinstance(self._end, PeerError):
            raise type(self._end)(self._end.message, self._end.context)
        return self

    def __await__(self) -> Generator[Any, None, Subscription]:
        return self._ready().__await__()

    async def __aenter__(self) -> Subscription:
        return await self._ready()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Unsubscribes (at the daemon, when no other subscription of
        the node uses a pattern) and ends the iteration.  Raises the
        daemon's error if it refuses the unsubscribe; does nothing the
        second time."""
        if self._closing:
            return
        self._closing = True
        self._node._ev_detach(self)
        self._queue.clear()
        self._finish(_Stop())
        await asyncio.shield(self._start)
        if self._acquired:
            self._acquired = False
            await self._node._ev_release(self.patterns)

    def _finish(self, end: PeerError | _Stop) -> None:
        """Ends the iteration once the queue is read."""
        if self._end is None or isinstance(end, _Stop):
            self._end = end
        self._wake()

    # -- events ----------------------------------------------------------

    def _deliver(self, ev: Event) -> None:
        if len(self._queue) >= self._max:
            self._lost += 1
            return
        if self._lost or self._reconnected:
            ev = dataclasses.replace(ev, lost=self._lost,
                                     reconnected=self._reconnected)
            self._lost, self._reconnected = 0, False
        self._queue.append(ev)
        self._wake()

    def _wake(self) -> None:
        self._arrived.set()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        if not self._start.done():
            await self._ready()
        while not self._queue:
            end = self._end
            if isinstance(end, _Stop) or isinstance(end, _ClosedByUser):
                raise StopAsyncIteration
            if end is not None:
                raise type(end)(end.message, end.context)
            self._arrived.clear()
            await self._arrived.wait()
        return self._queue.popleft()


class Events(Connection):
    """Publishing and subscribing, on a Node."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ev_subs: list[Subscription] = []
        self._ev_refs: dict[str, int] = {}     # pattern: subscriptions
        self._ev_lock = asyncio.Lock()          # one change at a time
        self._ev_malformed_logged = False
        self.on_message("event", self._ev_on_event)
        self.on_drop(self._ev_on_drop)
        self.add_restorer(self._ev_restore)

    async def publish(self, topic: str, data: Any = None) -> int:
        """Publishes an event on topic (not a pattern) with data (any
        item CBOR can encode; None publishes no data) to every
        subscriber on the network, this node's included; returns its
        sequence number.  Nothing is acknowledged: the daemon replies
        once it has handed the event on.  Raises InvalidArgument for a
        bad topic or data CBOR cannot encode, ResourceExhausted for
        data larger than the daemon's max_message, Unavailable while
        not connected."""
        keys: dict[str, Any] = {"topic": _check_topic(topic)}
        if data is not None:
            keys["data"] = data
        result = await self.request("publish", **keys)
        seq = result.get("seq") if isinstance(result, dict) else None
        if not is_uint(seq):
            raise ProtocolError(f"publish: malformed result: {brief(result)}")
        return seq

    def subscribe(self, *patterns: str, queue: int = QUEUE_DEFAULT
                  ) -> Subscription:
        """Subscribes to the topics patterns match (each a topic, a
        topic followed by ".*" such as "sensor.*", or "*"); events
        beyond queue unread are dropped and counted in the next one's
        lost.  Needs a running event loop; the daemon's subscription
        starts at once (await the result, or enter it with `async
        with`, to know it is in place and to get its error:
        ResourceExhausted when the node holds too many).  Raises
        InvalidArgument at once for no pattern, a bad one, or a queue
        under 1.  Made while the node reconnects, it is set up when the
        node is back."""
        if not patterns:
            raise InvalidArgument("subscribe: no pattern")
        if isinstance(queue, bool) or not isinstance(queue, int) \
                or queue < 1:
            raise InvalidArgument(f"queue: {queue!r} is not a count of "
                                  "at least 1")
        checked = tuple(dict.fromkeys(_check_pattern(p) for p in patterns))
        if self.closed:
            assert self._closed is not None
            raise type(self._closed)(self._closed.message,
                                     self._closed.context)
        sub = Subscription(self, checked, queue)
        self._ev_subs.append(sub)
        return sub

    def on(self, *patterns: str, queue: int = QUEUE_DEFAULT
           ) -> Callable[[T], T]:
        """Decorator: calls the function with each Event whose topic
        one of patterns matches, one event at a time, in order.  An
        async function is awaited on the loop; a plain one runs in a
        thread (asyncio.to_thread), so that it may block.  An exception
        it raises is logged and the next event comes.  Events beyond
        queue waiting for it are dropped and counted in ev.lost.

        The subscription starts at once on the running loop and lasts
        as long as the node; a bad pattern raises InvalidArgument here,
        and an error of the daemon's (ResourceExhausted) is logged and
        ends the node with it: serve_forever raises it."""
        def decorate(fn: T) -> T:
            if not callable(fn):
                raise TypeError(f"@on: {fn!r} is not callable")
            sub = self.subscribe(*patterns, queue=queue)
            self.spawn(self._ev_run_handler(sub, fn))
            return fn
        return decorate

    async def _ev_run_handler(self, sub: Subscription,
                              fn: Callable[[Event], Any]) -> None:
        is_async = inspect.iscoroutinefunction(fn)
        name = getattr(fn, "__qualname__", repr(fn))
        try:
            async for ev in sub:
                try:
                    r = await fn(ev) if is_async else \
                        await asyncio.to_thread(fn, ev)
                    if inspect.isawaitable(r):
                        await r
                except Exception:
                    log.exception("peerd: @on(%s) %s failed on event %s "
                                  "seq %s", " ".join(sub.patterns), name,
                                  ev.topic, brief(ev.seq))
        except PeerError as e:
            if not self.closed:
                log.error("peerd: @on(%s) %s: %s", " ".join(sub.patterns),
                          name, e)
                self.fail(e)

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            self._ev_end()      # a close() cancelled midway ends them too

    # -- the daemon's subscriptions, counted ------------------------------

    def _ev_can_wait(self) -> bool:
        """Whether a subscription made now may wait for the restorer:
        the connection is down but will be made again."""
        return (not self.connected and not self.closed and self.reconnect
                and bool(self.info))

    async def _ev_acquire(self, patterns: Iterable[str]) -> None:
        """Counts patterns for one more subscription, subscribing at
        the daemon to those no other uses; on an error, undoes its
        counts and raises it."""
        async with self._ev_lock:
            counted: list[str] = []
            try:
                for p in patterns:
                    if not self._ev_refs.get(p) and not self._ev_can_wait():
                        try:
                            await self.request("subscribe", topic=p)
                        except Unavailable:
                            if not self._ev_can_wait():
                                raise
                    self._ev_refs[p] = self._ev_refs.get(p, 0) + 1
                    counted.append(p)
            except BaseException:
                await self._ev_uncount(counted)
                raise

    async def _ev_release(self, patterns: Iterable[str]) -> None:
        """Uncounts patterns for a subscription that closed."""
        async with self._ev_lock:
            await self._ev_uncount(patterns)

    async def _ev_uncount(self, patterns: Iterable[str]) -> None:
        for p in patterns:
            n = self._ev_refs.get(p, 0) - 1
            if n > 0:
                self._ev_refs[p] = n
                continue
            self._ev_refs.pop(p, None)
            if self.connected:
                try:
                    await self.request("unsubscribe", topic=p)
                except (NotFound, Unavailable):
                    pass        # it ended with a connection already

    async def _ev_restore(self) -> None:
        """After a reconnection: subscribes to every counted pattern
        again."""
        async with self._ev_lock:
            for p in list(self._ev_refs):
                try:
                    await self.request("subscribe", topic=p)
                except AlreadyExists:
                    pass        # made since the reconnection
                except PeerError as e:
                    if not self.connected:
                        return  # lost again: the next restore does it
                    log.error("peerd: subscribing to %s again after "
                              "reconnecting: %s", p, e)

    def _ev_detach(self, sub: Subscription) -> None:
        """Stops handing sub events."""
        try:
            self._ev_subs.remove(sub)
        except ValueError:
            pass

    # -- what the daemon sends -------------------------------------------

    def _ev_on_event(self, msg: dict[str, Any]) -> None:
        got = _event_from_wire(msg)
        if got is None:
            if not self._ev_malformed_logged:
                self._ev_malformed_logged = True
                log.warning("peerd: malformed event dropped (further ones "
                            "are dropped silently): %s", brief(msg))
            return
        ev, lost = got
        if lost:
            # The daemon counts per connection: any subscription may
            # have wanted the events it dropped.
            for sub in self._ev_subs:
                sub._lost += lost
        for sub in self._ev_subs:
            if sub.matches(ev.topic):
                sub._deliver(ev)

    def _ev_on_drop(self, err: PeerError) -> None:
        for sub in self._ev_subs:
            sub._reconnected = True
        # _drop decides after its hooks whether the node is done.
        asyncio.get_running_loop().call_soon(self._ev_end)

    def _ev_end(self) -> None:
        """Once the node is closed, ends every subscription with its
        final error (or, closed by close(), just ends them)."""
        err = self._closed
        if err is None:
            return
        subs, self._ev_subs = self._ev_subs, []
        self._ev_refs.clear()
        for sub in subs:
            sub._finish(err)
