# SPDX-License-Identifier: ISC
"""_sync.py: the synchronous facade for scripts: connect_sync runs a
Node on an event loop in a thread of its own."""

from __future__ import annotations

from ._conn import TIMEOUT_DEFAULT

__all__ = ["SyncNode", "connect_sync"]


class SyncNode:
    """The methods of Node, blocking; kv is dict-like (kv["k"] = v,
    del kv["k"]); subscribe and call_all are plain iterators; service
    and on decorate as Node's; serve_forever blocks."""


def connect_sync(socket: str | None = None, *,
                 timeout: float = TIMEOUT_DEFAULT,
                 reconnect: bool = True) -> SyncNode:
    raise NotImplementedError
