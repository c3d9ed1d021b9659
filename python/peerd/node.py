# SPDX-License-Identifier: ISC
"""node.py: Node, the client: the connection and every feature on it."""

from __future__ import annotations

from ._calls import Calls
from ._conn import TIMEOUT_DEFAULT
from ._events import Events
from ._kv import KV
from ._serve import Serving
from ._status import Membership

__all__ = ["Node", "connect"]


class Node(Calls, Serving, Events, Membership):
    """A connection to peerd.  Make one with `await peerd.connect()`."""

    def __init__(self, socket: str | None = None, *,
                 timeout: float = TIMEOUT_DEFAULT,
                 reconnect: bool = True) -> None:
        super().__init__(socket, timeout=timeout, reconnect=reconnect)
        self.kv = KV(self)

    async def __aenter__(self) -> "Node":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def connect(socket: str | None = None, *,
                  timeout: float = TIMEOUT_DEFAULT,
                  reconnect: bool = True) -> Node:
    """Connects to peerd (socket, or the default of default_socket) and
    says hello, each within timeout seconds (above 0, up to a day, else
    InvalidArgument).  Raises Unavailable if it cannot connect,
    Unimplemented if the daemon does not speak protocol 1.  With
    reconnect, a lost connection is made again with back-off, and
    services and subscriptions are set up again."""
    node = Node(socket, timeout=timeout, reconnect=reconnect)
    await node.open()
    return node
