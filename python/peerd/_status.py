# SPDX-License-Identifier: ISC
"""_status.py: what the daemon knows of the mesh (doc/PROTOCOL.md
section 8: status, peers, members, services, topics, ping; watch and
unwatch, with section 11's change messages).  Each method returns the
daemon's own maps, with its key names: the tables of PROTOCOL.md say
what each key holds."""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Any, Sequence

from ._conn import TIMEOUT_DEFAULT, Connection
from ._proto import is_uint
from .errors import (InvalidArgument, NotFound, PeerError, ProtocolError,
                     brief)

__all__ = ["Membership", "MembershipWatch"]

log = logging.getLogger("peerd")

# The daemon checks a ping's timeout at its keep-alive ticks, so it may
# answer up to ping_interval (1 s by default) after the timeout passed.
PING_MARGIN = 2.0               # seconds


def _result_map(op: str, result: Any) -> dict[str, Any]:
    if not isinstance(result, dict):
        raise ProtocolError(f"{op}: malformed result, not a map: "
                            f"{brief(result)}")
    return result


def _result_list(op: str, result: Any, key: str) -> list[dict[str, Any]]:
    """result[key], checked to be an array of maps."""
    items = _result_map(op, result).get(key)
    if not isinstance(items, list) or \
            not all(isinstance(item, dict) for item in items):
        raise ProtocolError(f"{op}: malformed result, {key} is not an "
                            f"array of maps: {brief(result)}")
    return items


class MembershipWatch:
    """`async for change in await node.watch()`: each change of a
    member or a service, as the daemon's change map without "op":
    kind ("member-join", "member-alive", "member-suspect",
    "member-dead", "member-left", "member-forgotten", "member-update",
    "service-registered", "service-withdrawn"), node, name,
    incarnation, time (ms since 1970), and if known why; service and
    group for a service kind; lost (only if not 0) for the changes
    dropped before this one, by the daemon or because more than queue
    were unread here.  Changes while the node reconnects are not seen.
    An async context manager; `await w.close()` ends it.  Iteration
    ends when the watch or the node is closed, and raises the error
    that ended the node if that was not close()."""

    def __init__(self, conn: Membership, members: bool, services: bool,
                 queue: int) -> None:
        self._conn = conn
        self.members = members
        self.services = services
        self._queue: asyncio.Queue[dict[str, Any] | None] = \
            asyncio.Queue(queue + 1)        # + 1: room for the end
        self._dropped = 0
        self._closed = False
        self._ended: asyncio.Future[Any] | None = None

    def _wants(self, kind: str) -> bool:
        if kind.startswith("member-"):
            return self.members
        if kind.startswith("service-"):
            return self.services
        return True                 # a kind this version does not know

    def _put(self, change: dict[str, Any]) -> None:
        if self._closed:
            return
        if self._queue.qsize() >= self._queue.maxsize - 1:
            self._dropped += 1
            return
        if self._dropped:
            change = {**change, "lost": change.get("lost", 0) + self._dropped}
            self._dropped = 0
        self._queue.put_nowait(change)

    def __aiter__(self) -> MembershipWatch:
        return self

    async def __anext__(self) -> dict[str, Any]:
        change: dict[str, Any] | None = None
        if not self._queue.empty():
            change = self._queue.get_nowait()
        elif not self._closed:
            if self._ended is None:
                self._ended = asyncio.ensure_future(
                    self._conn.serve_forever())
                # Its error is raised here, or dropped with the watch.
                self._ended.add_done_callback(
                    lambda t: t.cancelled() or t.exception())
            get = asyncio.ensure_future(self._queue.get())
            try:
                await asyncio.wait({get, self._ended},
                                   return_when=asyncio.FIRST_COMPLETED)
            finally:
                get.cancel()
            if get.done() and not get.cancelled():
                change = get.result()
        if change is not None:
            return change
        if self._ended is not None and self._ended.done() \
                and not self._ended.cancelled():
            await self._ended       # raises what ended the node
        raise StopAsyncIteration

    async def close(self) -> None:
        """Stops watching; idempotent.  Changes already queued are
        dropped."""
        if self._closed:
            return
        self._closed = True
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)
        if self._ended is not None:
            self._ended.cancel()
        await self._conn._unwatch(self)

    async def __aenter__(self) -> MembershipWatch:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class Membership(Connection):

    def __init__(self, socket: str | None = None, *,
                 timeout: float = TIMEOUT_DEFAULT,
                 reconnect: bool = True) -> None:
        super().__init__(socket, timeout=timeout, reconnect=reconnect)
        self._watches: list[MembershipWatch] = []
        self._watching = (False, False)     # members, services asked for
        self._watch_lock = asyncio.Lock()
        self._bad_change_logged = False
        self.on_message("change", self._on_change)
        self.add_restorer(self._rewatch)

    async def status(self) -> dict[str, Any]:
        """The daemon's state: a map of node, name, version, protocol,
        pid, started_at, uptime_ms, listen, clients, peers, members
        (counts) and more (doc/PROTOCOL.md, status)."""
        return _result_map("status", await self.request("status"))

    async def peers(self) -> list[dict[str, Any]]:
        """This node's mesh links, one map each: node, name, addr,
        direction ("in"/"out"), state ("connecting", "handshake", "up",
        "draining"), rtt_us, rtt_avg_us, rtt_min_us (None before the
        first sample), uptime_ms, bytes_in, bytes_out, msgs_in,
        msgs_out, target."""
        return _result_list("peers", await self.request("peers"), "peers")

    async def members(self, *, group: str | None = None,
                      hubs: bool | None = None,
                      state: str | None = None,
                      tags: Sequence[str] | None = None
                      ) -> list[dict[str, Any]]:
        """The members of the network this node knows of, this node
        first, one map each: node, name, state ("alive", "suspect",
        "dead", "left"), incarnation, addrs, groups, hub, tags, self,
        since_ms, started_at, rtt_us.  Only those of group, only hubs
        (hubs=True), only those in state, only those with every tag
        named ("KEY" or "KEY=VALUE"); a member must match all that are
        given.  A bad filter raises InvalidArgument."""
        keys: dict[str, Any] = {}
        if group is not None:
            keys["group"] = group
        if hubs is not None:
            keys["hubs"] = hubs
        if state is not None:
            keys["state"] = state
        if tags is not None:
            if isinstance(tags, str):
                raise InvalidArgument(f"tags: a list of KEY or KEY=VALUE, "
                                      f"not the text {tags!r}")
            keys["tags"] = list(tags)
        return _result_list("members", await self.request("members", **keys),
                            "members")

    async def services(self, service: str | None = None
                       ) -> list[dict[str, Any]]:
        """The services that live members offer, one map per (service,
        group) pair and node: service, group (None if none), node,
        name, local (True for this node).  Only service if given."""
        keys: dict[str, Any] = {} if service is None else \
            {"service": service}
        return _result_list("services",
                            await self.request("services", **keys),
                            "services")

    async def topics(self) -> list[dict[str, Any]]:
        """The patterns that live members subscribe to, one map per
        pattern and node: topic, node, name, local."""
        return _result_list("topics", await self.request("topics"),
                            "topics")

    async def ping(self, node: str, *, size: int = 0,
                   timeout: float = TIMEOUT_DEFAULT) -> float:
        """Round-trip time to a linked node, in seconds: the daemon
        sends a mesh ping carrying size bytes of padding and waits for
        the pong.  node is a node name or 4 or more characters of its
        ID.  Raises NotFound if no linked node matches,
        DeadlineExceeded if no pong came within timeout (seconds,
        0.001 to 60), Unavailable if the link closed first."""
        ok = isinstance(timeout, (int, float)) \
            and not isinstance(timeout, bool) \
            and (isinstance(timeout, int) or math.isfinite(timeout))
        ms = round(timeout * 1000) if ok else 0
        if not 1 <= ms <= 60_000:
            raise InvalidArgument(f"timeout {timeout} s out of range "
                                  "(0.001 s to 60 s)")
        result = _result_map("ping", await self.request(
            "ping", wait=timeout + PING_MARGIN, node=node, size=size,
            timeout_ms=ms))
        rtt = result.get("rtt_us")
        # A ping waits a minute at most: 2^40 us (12 days) is no round
        # trip, and a huge int would not convert to a float.
        if not isinstance(rtt, int) or isinstance(rtt, bool) or rtt < 0 \
                or rtt > 1 << 40:
            raise ProtocolError(f"ping: malformed result: {brief(result)}")
        return rtt / 1e6

    # -- watching ----------------------------------------------------------

    async def watch(self, *, members: bool = True, services: bool = True,
                    queue: int = 1024) -> MembershipWatch:
        """Watches the changes of members, of services, or both, and
        returns once the daemon watches: a MembershipWatch to iterate.
        Several may be open; the daemon is asked for what they want
        together, and asked again after a reconnection."""
        if not (members or services):
            raise InvalidArgument("nothing to watch: ask for members or "
                                  "services")
        if isinstance(queue, bool) or not isinstance(queue, int) \
                or queue < 1:
            raise InvalidArgument(f"queue {queue!r}: not an int of 1 or "
                                  "more")
        w = MembershipWatch(self, members, services, queue)
        self._watches.append(w)
        try:
            await self._send_watch()
        except BaseException:
            self._watches.remove(w)
            raise
        return w

    async def _unwatch(self, w: MembershipWatch) -> None:
        if w in self._watches:
            self._watches.remove(w)
            try:
                await self._send_watch()
            except PeerError as e:
                # Unavailable: the daemon forgot the watch with the
                # connection.
                log.debug("peerd: unwatch: %s", e)

    async def _send_watch(self, again: bool = False) -> None:
        """Asks the daemon for what the open watches want, if that
        changed (or again, after a reconnection)."""
        async with self._watch_lock:
            want = (any(w.members for w in self._watches),
                    any(w.services for w in self._watches))
            if want == self._watching and not again:
                return
            if want == (False, False):
                try:
                    await self.request("unwatch")
                except NotFound:
                    pass            # not watching: as wanted
            else:
                await self.request("watch", members=want[0],
                                   services=want[1])
            self._watching = want

    async def _rewatch(self) -> None:
        self._watching = (False, False)
        if self._watches:
            await self._send_watch(again=True)

    def _on_change(self, msg: dict[str, Any]) -> None:
        kind = msg.get("kind")
        lost = msg.get("lost", 0)
        if not isinstance(kind, str) or not isinstance(msg.get("node"), str) \
                or not is_uint(lost):
            if not self._bad_change_logged:
                log.warning("peerd: malformed change dropped: %s", brief(msg))
                self._bad_change_logged = True
            return
        change = {k: v for k, v in msg.items() if k != "op"}
        for w in list(self._watches):
            if w._wants(kind):
                w._put(change)
