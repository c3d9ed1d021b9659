# SPDX-License-Identifier: ISC
"""_status.py: what the daemon knows of the mesh (doc/PROTOCOL.md
section 8: status, peers, members, services, topics, ping).  Each
method returns the daemon's own maps, with its key names: the tables
of PROTOCOL.md say what each key holds."""

from __future__ import annotations

from typing import Any, Sequence

from ._conn import TIMEOUT_DEFAULT, Connection
from .errors import InvalidArgument, ProtocolError

__all__ = ["Membership"]

# The daemon checks a ping's timeout at its keep-alive ticks, so it may
# answer up to ping_interval (1 s by default) after the timeout passed.
PING_MARGIN = 2.0               # seconds


def _result_map(op: str, result: Any) -> dict[str, Any]:
    if not isinstance(result, dict):
        raise ProtocolError(f"{op}: malformed result, not a map: "
                            f"{result!r:.200}")
    return result


def _result_list(op: str, result: Any, key: str) -> list[dict[str, Any]]:
    """result[key], checked to be an array of maps."""
    items = _result_map(op, result).get(key)
    if not isinstance(items, list) or \
            not all(isinstance(item, dict) for item in items):
        raise ProtocolError(f"{op}: malformed result, {key} is not an "
                            f"array of maps: {result!r:.200}")
    return items


class Membership(Connection):

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

    async def members(self, group: str | None = None,
                      hubs: bool | None = None, *,
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
        ms = round(timeout * 1000)
        if not 1 <= ms <= 60_000:
            raise InvalidArgument(f"timeout {timeout} s out of range "
                                  "(0.001 s to 60 s)")
        result = _result_map("ping", await self.request(
            "ping", wait=timeout + PING_MARGIN, node=node, size=size,
            timeout_ms=ms))
        rtt = result.get("rtt_us")
        if not isinstance(rtt, int) or isinstance(rtt, bool) or rtt < 0:
            raise ProtocolError(f"ping: malformed result: {result!r:.200}")
        return rtt / 1e6
