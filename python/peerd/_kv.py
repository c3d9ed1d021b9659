# SPDX-License-Identifier: ISC
"""_kv.py: the replicated key-value store (doc/PROTOCOL.md section 8,
the kv ops; section 12 kv_change): KV, node.kv, asynchronous; Watch,
the changes of the keys under a prefix; SyncKV and SyncWatch, their
blocking faces for scripts, on a Runner."""

from __future__ import annotations

import asyncio
import collections
import logging
import math
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from typing import (Any, AsyncIterator, Callable, Coroutine, Generic,
                    Iterator, Mapping, TypeVar)

from cbor2 import CBORTag

from ._conn import TIMEOUT_DEFAULT, Connection
from ._proto import is_uint
from ._runner import Runner
from .errors import (AlreadyExists, DeadlineExceeded, InvalidArgument,
                     NotFound, PeerError, ProtocolError, Unavailable,
                     brief)

__all__ = ["KV", "Item", "Change", "Owner", "Watch", "SyncKV", "SyncWatch"]

log = logging.getLogger("peerd")

T = TypeVar("T")

MARGIN = 1.0                    # seconds waited past the daemon's deadline
TIMEOUT_MAX_MS = 86_400_000     # the daemon's largest timeout, one day
TTL_MAX_MS = 1 << 40            # the largest ttl, some 34 years
VALUE_DEPTH_MAX = 28            # arrays and maps a value may nest
PAGE_MAX = 1000                 # items of one kv_list page, at most
WATCH_QUEUE = 1024              # changes a watch holds unread
KINDS = ("put", "del", "merge", "expired")


@dataclass(frozen=True)
class Item:
    """A key's value and version, as kv_get gives them.  version is the
    clock part of the version (an int; 0 never names one), the one
    put(if_version=) and delete(if_version=) compare with; writer is
    the ID of the node that wrote it (the key's coordinator then);
    expires, for a key written with a ttl, is when it expires, in
    seconds since the Unix epoch, else None."""

    value: Any
    version: int
    writer: str = ""
    expires: float | None = None


@dataclass(frozen=True)
class Change:
    """One change of a watched key (a kv_change message).  kind is
    "put", "del", "merge" or "expired" (the key's ttl ran out); deleted
    is true for "del" and "expired", and value then None; after a
    merge, value is the whole merged map.  version is the version of
    the item now held (for "expired", of the write that expired),
    writer the node that wrote it.  lost counts the changes for this
    watch dropped since the one before, by the daemon (this client did
    not read) or by the watch's own queue (its reader did not keep up);
    0 if none.  prefix is the watched prefix it came for."""

    key: str
    value: Any
    version: int
    deleted: bool
    lost: int = 0
    kind: str = "put"
    writer: str = ""
    prefix: str = ""


@dataclass(frozen=True)
class Owner:
    """One owner of a key, as kv_where tells: its node ID and name,
    whether it is the key's coordinator, whether it answered in time,
    the version it holds (None if it holds none, or did not answer),
    and whether that version is a tombstone."""

    node: str
    name: str
    coordinator: bool
    answered: bool
    version: int | None = None
    deleted: bool = False


def _key(key: Any, what: str = "key") -> str:
    if not isinstance(key, str):
        raise InvalidArgument(f"{what}: {key!r} is not text")
    return key


def _ms(seconds: float, what: str, most: int, most_text: str) -> int:
    """seconds as whole milliseconds, 1 to most; InvalidArgument
    naming what and the value if it is not."""
    # An int is finite (and math.isfinite of a huge one would raise).
    ok = isinstance(seconds, (int, float)) and not isinstance(seconds, bool) \
        and (isinstance(seconds, int) or math.isfinite(seconds))
    ms = round(seconds * 1000) if ok else 0
    if not 1 <= ms <= most:
        raise InvalidArgument(f"{what} {seconds!r} s out of range "
                              f"(0.001 s to {most_text})")
    return ms


def _timeout_ms(timeout: float) -> int:
    return _ms(timeout, "timeout", TIMEOUT_MAX_MS, "one day")


def _version(v: Any, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise InvalidArgument(f"{what}: {v!r} is not a version (an int, "
                              "0 or more)")
    return v


def _check_depth(value: Any) -> None:
    """Raises InvalidArgument, as the daemon would, for a value that
    nests more than 28 arrays and maps: beyond 32 the daemon would
    take the whole frame for malformed and close the connection.  Tags
    do not count; an empty array or map is a leaf; Decimal and
    Fraction are one array each."""
    todo: list[tuple[Any, int]] = [(value, 0)]
    while todo:
        v, depth = todo.pop()
        if isinstance(v, (str, bytes, int, float, bool)) or v is None:
            continue
        if isinstance(v, (Decimal, Fraction)):
            children: Any = ()
            depth += 1
        elif isinstance(v, Mapping):
            children = [x for pair in v.items() for x in pair]
            depth += bool(v)
        elif isinstance(v, (list, tuple, set, frozenset)):
            children = v
            depth += bool(v)
        elif isinstance(v, CBORTag):
            children = (v.value,)
        else:
            continue
        if depth > VALUE_DEPTH_MAX:
            raise InvalidArgument("value: nested more than "
                                  f"{VALUE_DEPTH_MAX} deep")
        todo.extend((c, depth) for c in children)


def _uint(m: dict[str, Any], name: str, op: str) -> int:
    v = m.get(name)
    if not is_uint(v):
        raise ProtocolError(f"{op}: malformed {name}: {brief(v, 80)}")
    return v


def _text(m: dict[str, Any], name: str, op: str) -> str:
    v = m.get(name)
    if not isinstance(v, str):
        raise ProtocolError(f"{op}: malformed {name}: {brief(v, 80)}")
    return v


def _map(r: Any, op: str) -> dict[str, Any]:
    if not isinstance(r, dict):
        raise ProtocolError(f"{op}: malformed result: {brief(r)}")
    return r


def _item(m: dict[str, Any], op: str) -> Item:
    expires: float | None = None
    if m.get("expires") is not None:
        expires = _uint(m, "expires", op) / 1000
    return Item(m.get("value"), _uint(m, "version", op),
                _text(m, "writer", op), expires)


class KV:
    """node.kv, the key-value store every daemon of the network keeps
    together (doc/PROTOCOL.md section 8, the key-value ops).  Keys are
    text of 1 to 256 bytes without control characters; a value is
    anything CBOR holds (None, bool, int, float, str, bytes, list,
    dict, ...), at most kv_value_max (1 MiB) encoded, nesting at most
    28 lists and dicts.

    `await kv["k"]` (KeyError if absent), `await kv.get(k, default)`,
    `await kv.put(k, v, if_version=, ttl=)`, `await kv.delete(k)`,
    `await kv.merge(k, fields)`, `await kv.item(k)` (value and
    version), `async for k, v in kv.items(prefix)`, `async for change
    in kv.watch(prefix)`.  In async code `kv[k] = v` and `del kv[k]`
    raise TypeError naming the awaitable form; the synchronous node
    (connect_sync) has them.

    Every op takes timeout, in seconds (0.001 to one day, default 5):
    how long the daemon waits for the key's owners; this side waits a
    second more.  Errors are the daemon's (doc/PROTOCOL.md): for
    instance Unavailable when too few owners answered (a write may
    still take effect), InvalidArgument for a bad key or value,
    ResourceExhausted for a value over kv_value_max."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._watches: dict[str, list[Watch]] = {}
        self._watch_lock = asyncio.Lock()
        self._malformed_logged = False
        conn.on_message("kv_change", self._on_change)
        conn.add_restorer(self._restore)
        self._closing: asyncio.Future[None] | None = None

    async def _op(self, op: str, timeout: float, **keys: Any) \
            -> dict[str, Any]:
        ms = _timeout_ms(timeout)
        r = await self._conn.request(op, wait=ms / 1000 + MARGIN,
                                     timeout=ms, **keys)
        return _map(r, op)

    # -- reading -----------------------------------------------------------

    def __getitem__(self, key: str) -> Coroutine[Any, Any, Any]:
        """`await kv[key]`: its value; KeyError if the key is absent
        (never written, deleted, or expired)."""
        return self._value(key)

    async def _value(self, key: str) -> Any:
        item = await self.item(key)
        if item is None:
            raise KeyError(key)
        return item.value

    async def item(self, key: str, *,
                   timeout: float = TIMEOUT_DEFAULT) -> Item | None:
        """The key's Item (value, version, writer, expires), None if
        it is absent.  Reads a majority of the key's owners, so it sees
        every write acknowledged before it, from any node."""
        try:
            r = await self._op("kv_get", timeout, key=_key(key))
        except NotFound:
            return None
        return _item(r, "kv_get")

    async def get(self, key: str, default: Any = None, *,
                  timeout: float = TIMEOUT_DEFAULT) -> Any:
        """The key's value, default if it is absent."""
        item = await self.item(key, timeout=timeout)
        return default if item is None else item.value

    async def contains(self, key: str, *,
                       timeout: float = TIMEOUT_DEFAULT) -> bool:
        """Whether the key is present (`key in kv` of the synchronous
        node)."""
        return await self.item(key, timeout=timeout) is not None

    def items(self, prefix: str = "", *, page: int = PAGE_MAX,
              timeout: float = TIMEOUT_DEFAULT
              ) -> AsyncIterator[tuple[str, Any]]:
        """`async for key, value in kv.items(prefix)`: every present
        key that begins with prefix ("": all), in byte order, read
        page items at a time (1 to 1000) with kv_list.  timeout bounds
        each page.  Keys written or deleted meanwhile may or may not
        be seen."""
        return _Mapped(_Pages(self, prefix, page, timeout, True),
                       lambda ki: (ki[0], ki[1].value))

    def keys(self, prefix: str = "", *, page: int = PAGE_MAX,
             timeout: float = TIMEOUT_DEFAULT) -> AsyncIterator[str]:
        """`async for key in kv.keys(prefix)`: as items, the keys only
        (the daemon sends no values)."""
        return _Mapped(_Pages(self, prefix, page, timeout, False),
                       lambda ki: ki[0])

    def list_items(self, prefix: str = "", *, page: int = PAGE_MAX,
                   timeout: float = TIMEOUT_DEFAULT
                   ) -> AsyncIterator[tuple[str, Item]]:
        """`async for key, item in kv.list_items(prefix)`: as items,
        with each key's Item (value, version, writer, expires), to
        compare versions with those a watch reports."""
        return _Pages(self, prefix, page, timeout, True)

    async def where(self, key: str, *,
                    timeout: float = TIMEOUT_DEFAULT) -> list[Owner]:
        """The nodes that own the key, the coordinator first, and what
        each holds of it (kv_where: the daemon waits for them at most
        1 s, or timeout if shorter)."""
        r = await self._op("kv_where", timeout, key=_key(key))
        owners = r.get("owners")
        if not isinstance(owners, list):
            raise ProtocolError(f"kv_where: malformed result: {brief(r)}")
        out = []
        for o in owners:
            o = _map(o, "kv_where")
            version = o.get("version")
            out.append(Owner(
                _text(o, "node", "kv_where"), _text(o, "name", "kv_where"),
                o.get("coordinator") is True, o.get("answered") is True,
                _uint(o, "version", "kv_where") if version is not None
                else None, o.get("deleted") is True))
        return out

    # -- writing -----------------------------------------------------------

    async def put(self, key: str, value: Any, *,
                  if_version: int | None = None, ttl: float | None = None,
                  timeout: float = TIMEOUT_DEFAULT) -> int:
        """Stores value under key and returns the version written.
        if_version makes it a compare-and-set: store only if the key
        is at that version (Item.version), or, with 0, only if it is
        absent; otherwise nothing is written and FailedPrecondition
        says why ("version is V, not W", "key exists", "key is
        absent").  ttl, in seconds (0.001 up to 2^40 ms): the key
        expires that long after the write, and is then absent."""
        keys: dict[str, Any] = {"key": _key(key), "value": value}
        _check_depth(value)
        if if_version is not None:
            keys["if_version"] = _version(if_version, "if_version")
        if ttl is not None:
            keys["ttl"] = _ms(ttl, "ttl", TTL_MAX_MS, f"{TTL_MAX_MS} ms")
        r = await self._op("kv_put", timeout, **keys)
        return _uint(r, "version", "kv_put")

    async def delete(self, key: str, *, if_version: int | None = None,
                     timeout: float = TIMEOUT_DEFAULT) -> int:
        """Deletes key (it leaves a tombstone, a version as any write)
        and returns the tombstone's version.  KeyError if the key is
        absent (nothing is written).  if_version: delete only if the
        key is at that version, else FailedPrecondition (an absent key
        then gives FailedPrecondition "key is absent", not KeyError)."""
        keys: dict[str, Any] = {"key": _key(key)}
        if if_version is not None:
            keys["if_version"] = _version(if_version, "if_version")
        try:
            r = await self._op("kv_del", timeout, **keys)
        except NotFound:
            raise KeyError(key) from None
        return _uint(r, "version", "kv_del")

    async def merge(self, key: str, fields: Mapping[Any, Any], *,
                    timeout: float = TIMEOUT_DEFAULT) -> int:
        """Merges fields into the dict stored under key and returns the
        version written: each field replaces the stored one of that
        name, and a field whose value is None removes it.  An absent
        key counts as an empty dict.  The key's coordinator applies
        merges one after the other, so concurrent merges of different
        fields, from any node, all take effect.  FailedPrecondition if
        the stored value is not a dict."""
        if not isinstance(fields, Mapping):
            raise InvalidArgument(f"merge of {key!r}: fields "
                                  f"{type(fields).__name__} is not a "
                                  "mapping")
        value = dict(fields)
        _check_depth(value)
        r = await self._op("kv_merge", timeout, key=_key(key), value=value)
        return _uint(r, "version", "kv_merge")

    def __setitem__(self, key: str, value: Any) -> None:
        raise TypeError("kv[key] = value cannot be awaited: use "
                        "`await kv.put(key, value)`")

    def __delitem__(self, key: str) -> None:
        raise TypeError("del kv[key] cannot be awaited: use "
                        "`await kv.delete(key)`")

    def __contains__(self, key: object) -> bool:
        raise TypeError("`key in kv` cannot be awaited: use "
                        "`await kv.contains(key)`")

    def __iter__(self) -> Iterator[str]:
        # Without this, iteration would call kv[0], kv[1], ... forever.
        raise TypeError("kv cannot be iterated: use "
                        "`async for key, value in kv.items(prefix)`")

    # -- watching ----------------------------------------------------------

    def watch(self, prefix: str = "", *, queue: int = WATCH_QUEUE) -> Watch:
        """The changes of the keys that begin with prefix ("": all),
        from any client of any node: `async with kv.watch("cfg/") as
        w: async for change in w: ...`.  The watch starts on entering
        the block (or at the first iteration, or with `await
        w.start()`) and ends on leaving it (or `await w.close()`).
        queue bounds the changes held unread; those beyond it are
        dropped and counted in the next one's lost.  See Watch for
        what a watch does not report."""
        if isinstance(queue, bool) or not isinstance(queue, int) \
                or queue < 1:
            raise InvalidArgument(f"queue {queue!r}: not an int of 1 or "
                                  "more")
        return Watch(self, _key(prefix, "prefix"), queue)

    def _on_change(self, msg: dict[str, Any]) -> None:
        try:
            prefix = _text(msg, "prefix", "kv_change")
            key = _text(msg, "key", "kv_change")
            kind = _text(msg, "change", "kv_change")
            version = _uint(msg, "version", "kv_change")
            writer = _text(msg, "writer", "kv_change")
            lost = _uint(msg, "lost", "kv_change") if "lost" in msg else 0
            if kind not in KINDS or not key.startswith(prefix) or \
                    (kind in ("put", "merge") and "value" not in msg):
                raise ProtocolError(f"kv_change: malformed: {brief(msg)}")
        except ProtocolError as e:
            if not self._malformed_logged:
                log.warning("peerd: %s; dropped (logged once)", e)
                self._malformed_logged = True
            return
        deleted = kind in ("del", "expired")
        change = Change(key, None if deleted else msg.get("value"), version,
                        deleted, lost, kind, writer, prefix)
        # A watch ended before its kv_unwatch was answered: dropped.
        for w in self._watches.get(prefix, ()):
            w._deliver(change)

    async def _restore(self) -> None:
        """After a reconnection: watches the prefixes again.  A prefix
        the daemon refuses now ends its watches with that error."""
        async with self._watch_lock:
            for prefix, watches in list(self._watches.items()):
                try:
                    await self._conn.request("kv_watch", prefix=prefix)
                except AlreadyExists:
                    pass
                except Unavailable:
                    return      # lost again: the next reconnection retries
                except PeerError as e:
                    del self._watches[prefix]
                    for w in watches:
                        w._end(e)

    async def _end_when_closed(self) -> None:
        """Ends every watch when the node is closed: their iteration
        stops after close(), and raises the error that ended the
        connection otherwise."""
        try:
            await self._conn.serve_forever()
        except PeerError as e:
            self._end_all(e)
        except asyncio.CancelledError:
            self._end_all(None)         # by close()
            raise
        else:
            self._end_all(None)

    def _end_all(self, err: PeerError | None) -> None:
        watches = self._watches
        self._watches = {}
        for ws in watches.values():
            for w in ws:
                w._end(err)


class _Pages:
    """The async iterator of KV.list_items: kv_list a page at a time."""

    def __init__(self, kv: KV, prefix: str, page: int, timeout: float,
                 values: bool) -> None:
        if isinstance(page, bool) or not isinstance(page, int) \
                or not 1 <= page <= PAGE_MAX:
            raise InvalidArgument(f"page {page!r}: not an int of 1 to "
                                  f"{PAGE_MAX}")
        _timeout_ms(timeout)
        self._kv = kv
        self._keys: dict[str, Any] = {"prefix": _key(prefix, "prefix"),
                                      "limit": page}
        if not values:
            self._keys["values"] = False
        self._timeout = timeout
        self._buf: collections.deque[tuple[str, Item]] = \
            collections.deque()
        self._done = False

    def __aiter__(self) -> "_Pages":
        return self

    async def __anext__(self) -> tuple[str, Item]:
        while not self._buf:
            if self._done:
                raise StopAsyncIteration
            await self._fetch()
        return self._buf.popleft()

    async def _fetch(self) -> None:
        r = await self._kv._op("kv_list", self._timeout, **self._keys)
        items = r.get("items")
        if not isinstance(items, list):
            raise ProtocolError(f"kv_list: malformed result: {brief(r)}")
        for it in items:
            it = _map(it, "kv_list")
            self._buf.append((_text(it, "key", "kv_list"),
                              _item(it, "kv_list")))
        after = self._keys.get("after")
        nxt = r.get("next")
        if nxt is None:
            self._done = True
        elif not isinstance(nxt, str) or (after is not None
                                          and nxt <= after):
            # A cursor that does not move on would never end.
            raise ProtocolError(f"kv_list: next {brief(nxt, 80)} does not "
                                f"follow {brief(after, 80)}")
        else:
            self._keys["after"] = nxt


class _Mapped(Generic[T]):
    """The async iterator of KV.items and KV.keys: fn of each of the
    pages' (key, Item)."""

    def __init__(self, pages: _Pages,
                 fn: Callable[[tuple[str, Item]], T]) -> None:
        self._pages = pages
        self._fn = fn

    def __aiter__(self) -> "_Mapped[T]":
        return self

    async def __anext__(self) -> T:
        return self._fn(await self._pages.__anext__())


class Watch:
    """The changes of the keys under a prefix (kv.watch(prefix)): an
    async iterator of Change and an async context manager.

    A change is reported at most once, in version order per key;
    changes of different keys come in any order.  What a watch does
    not report: changes made before the daemon's lease for it reaches
    the key's coordinator (usually one round trip after start
    returns), changes lost on the way between nodes, and every change
    while the node is reconnecting (the node watches the prefix again
    once it is back, and the changes of the gap are not reported, nor
    counted in lost).  A program that must see every value reads the
    keys (kv.items) once the watch is in place, and compares versions.

    Several watches of one prefix on one node share the daemon's watch;
    each sees every change.  When the node is closed, iteration ends;
    when the connection is lost for good (reconnect=False, or a daemon
    that broke the protocol), iteration raises its error."""

    def __init__(self, kv: KV, prefix: str, queue: int) -> None:
        self.prefix = prefix
        self._kv = kv
        self._max = queue
        self._queue: collections.deque[Change] = collections.deque()
        self._dropped = 0
        self._wakeup = asyncio.Event()
        self._started = False
        self._ended = False
        self._error: PeerError | None = None

    async def start(self) -> "Watch":
        """Starts the watch (kv_watch) if it has not started; returns
        it.  Raises the daemon's error: InvalidArgument for a bad
        prefix, ResourceExhausted for a 65th prefix on the node;
        Unavailable while the node is not connected."""
        kv = self._kv
        async with kv._watch_lock:
            if self._started or self._ended:
                return self
            sharing = kv._watches.get(self.prefix)
            if sharing:
                sharing.append(self)
                self._started = True
                return self
            # Listed before the reply: the first change may follow it
            # closely.
            kv._watches[self.prefix] = [self]
            try:
                await kv._conn.request("kv_watch", prefix=self.prefix)
            except AlreadyExists:
                pass    # left by a start or a close that was interrupted
            except BaseException:
                kv._watches.pop(self.prefix, None)
                raise
            self._started = True
            if kv._closing is None or kv._closing.done():
                kv._closing = kv._conn.spawn(kv._end_when_closed())
        return self

    async def close(self) -> None:
        """Ends the watch (kv_unwatch, once no other watch of the node
        shares the prefix); changes still unread are dropped and
        iteration ends.  Closing twice does nothing."""
        kv = self._kv
        async with kv._watch_lock:
            if self._ended:
                return
            self._end(None)
            if not self._started:
                return
            sharing = kv._watches.get(self.prefix)
            if sharing is None:
                return          # ended with the connection
            sharing.remove(self)
            if sharing:
                return          # another watch of the node still uses it
            del kv._watches[self.prefix]
            if kv._conn.connected:
                try:
                    await kv._conn.request("kv_unwatch", prefix=self.prefix)
                except (NotFound, Unavailable, DeadlineExceeded):
                    pass        # the watch ended with a connection

    async def next(self, timeout: float | None = None) -> Change | None:
        """The next change, waiting for it up to timeout seconds (None:
        as long as it takes); None once the watch is closed.  Starts the
        watch if needed.  DeadlineExceeded after timeout; the error
        that ended the connection for good, if it did."""
        if not self._started and not self._ended:
            await self.start()
        while True:
            if self._queue:
                return self._queue.popleft()
            if self._error is not None:
                raise type(self._error)(self._error.message,
                                        self._error.context)
            if self._ended:
                return None
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), timeout)
            except asyncio.TimeoutError:
                raise DeadlineExceeded(f"kv watch {self.prefix!r}: no "
                                       f"change within {timeout:g} s") \
                    from None

    def __aiter__(self) -> "Watch":
        return self

    async def __anext__(self) -> Change:
        change = await self.next()
        if change is None:
            raise StopAsyncIteration
        return change

    async def __aenter__(self) -> "Watch":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _deliver(self, change: Change) -> None:
        if self._ended:
            return
        if len(self._queue) >= self._max:
            self._dropped += 1
            return
        if self._dropped:
            change = replace(change, lost=change.lost + self._dropped)
            self._dropped = 0
        self._queue.append(change)
        self._wakeup.set()

    def _end(self, err: PeerError | None) -> None:
        """Ends iteration: at once if closed (err None), after the
        changes queued if the connection ended with err."""
        self._ended = True
        if err is None:
            self._queue.clear()
        else:
            self._error = err
        self._wakeup.set()


class SyncKV:
    """The key-value store for scripts (sync_node.kv), dict-like and
    blocking, on a Runner's loop: kv["k"] (KeyError if absent),
    kv["k"] = v, del kv["k"] (KeyError if absent), "k" in kv,
    `for key in kv` (every key), and the methods of KV, blocking, with
    the same arguments: get, item, contains, put, delete, merge,
    items, keys and list_items (blocking iterators), where, and watch
    (a SyncWatch, started at once)."""

    def __init__(self, kv: KV, runner: Runner) -> None:
        self._kv = kv
        self._runner = runner

    def __getitem__(self, key: str) -> Any:
        return self._runner.run(self._kv[key])

    def __setitem__(self, key: str, value: Any) -> None:
        self._runner.run(self._kv.put(key, value))

    def __delitem__(self, key: str) -> None:
        self._runner.run(self._kv.delete(key))

    def __contains__(self, key: object) -> bool:
        # As a dict's: what cannot be a key is not in it.
        return isinstance(key, str) and \
            self._runner.run(self._kv.contains(key))

    def __iter__(self) -> Iterator[str]:
        return self.keys()

    def get(self, key: str, default: Any = None, *,
            timeout: float = TIMEOUT_DEFAULT) -> Any:
        return self._runner.run(self._kv.get(key, default, timeout=timeout))

    def item(self, key: str, *,
             timeout: float = TIMEOUT_DEFAULT) -> Item | None:
        return self._runner.run(self._kv.item(key, timeout=timeout))

    def put(self, key: str, value: Any, *, if_version: int | None = None,
            ttl: float | None = None,
            timeout: float = TIMEOUT_DEFAULT) -> int:
        return self._runner.run(self._kv.put(
            key, value, if_version=if_version, ttl=ttl, timeout=timeout))

    def delete(self, key: str, *, if_version: int | None = None,
               timeout: float = TIMEOUT_DEFAULT) -> int:
        return self._runner.run(self._kv.delete(
            key, if_version=if_version, timeout=timeout))

    def merge(self, key: str, fields: Mapping[Any, Any], *,
              timeout: float = TIMEOUT_DEFAULT) -> int:
        return self._runner.run(self._kv.merge(key, fields,
                                               timeout=timeout))

    def items(self, prefix: str = "", *, page: int = PAGE_MAX,
              timeout: float = TIMEOUT_DEFAULT
              ) -> Iterator[tuple[str, Any]]:
        return self._runner.iterate(self._kv.items(prefix, page=page,
                                                   timeout=timeout))

    def keys(self, prefix: str = "", *, page: int = PAGE_MAX,
             timeout: float = TIMEOUT_DEFAULT) -> Iterator[str]:
        return self._runner.iterate(self._kv.keys(prefix, page=page,
                                                  timeout=timeout))

    def list_items(self, prefix: str = "", *, page: int = PAGE_MAX,
                   timeout: float = TIMEOUT_DEFAULT
                   ) -> Iterator[tuple[str, Item]]:
        return self._runner.iterate(self._kv.list_items(
            prefix, page=page, timeout=timeout))

    def where(self, key: str, *,
              timeout: float = TIMEOUT_DEFAULT) -> list[Owner]:
        return self._runner.run(self._kv.where(key, timeout=timeout))

    def watch(self, prefix: str = "", *,
              queue: int = WATCH_QUEUE) -> SyncWatch:
        """Starts watching prefix at once (errors are raised here) and
        returns a SyncWatch: `with kv.watch("cfg/") as w: for change
        in w: ...`."""
        w = self._kv.watch(prefix, queue=queue)
        self._runner.run(w.start())
        return SyncWatch(w, self._runner)


class SyncWatch:
    """A Watch, blocking: a plain iterator of Change (ended by close(),
    from any thread) and a context manager that closes it;
    next(timeout) waits at most timeout seconds."""

    def __init__(self, watch: Watch, runner: Runner) -> None:
        self._watch = watch
        self._runner = runner
        self.prefix = watch.prefix

    def next(self, timeout: float | None = None) -> Change | None:
        """As Watch.next: the next change, None once closed;
        DeadlineExceeded after timeout seconds."""
        return self._runner.run(self._watch.next(timeout))

    def close(self) -> None:
        self._runner.run(self._watch.close())

    def __iter__(self) -> "SyncWatch":
        return self

    def __next__(self) -> Change:
        change = self.next()
        if change is None:
            raise StopIteration
        return change

    def __enter__(self) -> "SyncWatch":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
