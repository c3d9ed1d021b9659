# SPDX-License-Identifier: ISC
"""_kv.py: the replicated key-value store (doc/PROTOCOL.md section 8,
the kv ops; section 12 kv_change)."""

from __future__ import annotations

from ._conn import Connection

__all__ = ["KV", "Item", "Change"]


class Item:
    """A key's value and version (an int; 0 never names a version)."""


class Change:
    """One kv_change: key, value (None for a delete), version, deleted,
    lost."""


class KV:
    """node.kv: `await kv["k"]` (KeyError if absent), `await
    kv.get(k, default)`, `await kv.put(k, v, if_version=, ttl=)`,
    `await kv.delete(k)`, `await kv.merge(k, fields)`, `await
    kv.item(k)` (value and version), `async for k, v in
    kv.items(prefix)`, `async for change in kv.watch(prefix)`.  In
    async code `kv[k] = v` and `del kv[k]` raise TypeError naming the
    awaitable form; the synchronous node (connect_sync) has them."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
