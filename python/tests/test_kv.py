# SPDX-License-Identifier: ISC
"""test_kv.py: the key-value store through two real daemons: values
written on one node read on the other, compare-and-set, merges from
both, ttl, listing over several pages, watches (and their queue, and
after a daemon restart), and the blocking SyncKV."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Iterator

import pytest

import peerd
from conftest import Daemon, Mesh, query, wait_until
from peerd._kv import SyncKV
from peerd._runner import Runner


def _sees_both(d: Daemon) -> bool:
    members = query(d.sock, "members")["members"]
    return [m["state"] for m in members] == ["alive", "alive"]


@pytest.fixture
def kv_mesh(mesh: Mesh) -> Mesh:
    """The mesh once each daemon sees both alive: then both are store
    nodes, and both own every key (2 nodes, kv_replicas 3)."""
    for d in (mesh.a, mesh.b):
        wait_until(lambda: _sees_both(d), 10, f"{d.name} seeing 2 members")
    return mesh


async def _probe(w: peerd._kv.Watch, writer: peerd.Node, key: str) -> None:
    """Writes key until w reports it: the watch's lease has then
    reached the key's coordinator (writes before that are told to no
    one), and the nodes take writes."""
    for _ in range(50):
        try:
            version = await writer.kv.put(key, "probe", timeout=1)
        except (peerd.Unavailable, peerd.DeadlineExceeded):
            await asyncio.sleep(0.1)
            continue
        try:
            while True:
                c = await w.next(timeout=0.2)
                if c is not None and c.key == key and c.version >= version:
                    return
        except peerd.DeadlineExceeded:
            pass
    pytest.fail(f"no change of {key} reported within 50 tries")


async def _drain_probes(w: peerd._kv.Watch, probe: str,
                        count: int) -> list[peerd.Change]:
    """The next count changes of w other than of probe."""
    got: list[peerd.Change] = []
    while len(got) < count:
        c = await w.next(timeout=5)
        assert c is not None
        if c.key != probe:
            got.append(c)
    return got


VALUES: dict[str, Any] = {
    "rt/str": "hello, wörld",
    "rt/bytes": b"\x00\xff\x10",
    "rt/int": -(2 ** 63),
    "rt/big": 2 ** 64 + 1,
    "rt/float": 2.5,
    "rt/none": None,
    "rt/bool": True,
    "rt/map": {"a": 1, "b": [1, 2, {"c": None}], 7: b"x"},
    "rt/list": [1, "two", b"3", [4.5], {}],
}


def test_round_trips_between_nodes(kv_mesh: Mesh) -> None:
    async def run() -> None:
        async with await peerd.connect(kv_mesh.a.sock) as a, \
                await peerd.connect(kv_mesh.b.sock) as b:
            versions = {}
            for k, v in VALUES.items():
                versions[k] = await a.kv.put(k, v)
                assert isinstance(versions[k], int) and versions[k] > 0
            for k, v in VALUES.items():
                assert await b.kv[k] == v
                item = await b.kv.item(k)
                assert item is not None
                assert (item.value, item.version) == (v, versions[k])
                assert len(item.writer) == 52 and item.expires is None
            # A stored null is present; an absent key is not.
            assert await b.kv.get("rt/none", "dflt") is None
            assert await b.kv.contains("rt/none")
            with pytest.raises(KeyError) as e:
                await b.kv["rt/absent"]
            assert e.value.args == ("rt/absent",)
            assert await b.kv.get("rt/absent") is None
            assert await b.kv.get("rt/absent", 0) == 0
            assert await b.kv.item("rt/absent") is None
            assert not await b.kv.contains("rt/absent")
            # A newer write wins; a delete makes it absent everywhere.
            v2 = await b.kv.put("rt/str", "again")
            assert v2 > versions["rt/str"]
            assert await a.kv["rt/str"] == "again"
            tomb = await a.kv.delete("rt/str")
            assert tomb > v2
            with pytest.raises(KeyError):
                await b.kv["rt/str"]
            with pytest.raises(KeyError):
                await b.kv.delete("rt/str")
            owners = await b.kv.where("rt/str")
            assert sorted(o.name for o in owners) == ["a", "b"]
            assert [o.coordinator for o in owners] == [True, False]
            assert all(o.answered and o.deleted and o.version == tomb
                       for o in owners)

    asyncio.run(asyncio.wait_for(run(), 20))


def test_bad_arguments(kv_mesh: Mesh) -> None:
    async def run() -> None:
        async with await peerd.connect(kv_mesh.a.sock) as a:
            with pytest.raises(peerd.InvalidArgument, match="key"):
                await a.kv.put("", 1)           # the daemon's check
            with pytest.raises(peerd.InvalidArgument, match="key"):
                await a.kv.put("bad\nkey", 1)
            with pytest.raises(peerd.InvalidArgument, match="not text"):
                await a.kv.get(5)               # type: ignore[arg-type]
            with pytest.raises(peerd.InvalidArgument, match="ttl"):
                await a.kv.put("k", 1, ttl=0)
            with pytest.raises(peerd.InvalidArgument, match="if_version"):
                await a.kv.put("k", 1, if_version=-1)
            with pytest.raises(peerd.InvalidArgument, match="timeout"):
                await a.kv.get("k", timeout=0)
            deep: Any = 1
            for _ in range(28):
                deep = [deep]
            await a.kv.put("deep", deep)
            assert await a.kv["deep"] == deep
            # Deeper would be refused; beyond 32 the daemon would close
            # the connection, so it is refused here.
            for n in (29, 40):
                too: Any = 1
                for _ in range(n):
                    too = {"k": too}
                with pytest.raises(peerd.InvalidArgument,
                                   match="nested more than 28 deep"):
                    await a.kv.put("deep", too)
            loop: list[Any] = []
            loop.append(loop)
            with pytest.raises(peerd.InvalidArgument, match="nested"):
                await a.kv.put("deep", loop)
            # The async store has no dict assignment.
            with pytest.raises(TypeError, match=r"await kv.put\(key"):
                a.kv["k"] = 1
            with pytest.raises(TypeError, match=r"await kv.delete\(key"):
                del a.kv["k"]
            with pytest.raises(TypeError, match=r"await kv.contains"):
                assert "k" in a.kv
            with pytest.raises(TypeError, match=r"kv.items"):
                list(a.kv)
            assert a.connected

    asyncio.run(asyncio.wait_for(run(), 20))


def test_compare_and_set(kv_mesh: Mesh) -> None:
    async def run() -> None:
        async with await peerd.connect(kv_mesh.a.sock) as a, \
                await peerd.connect(kv_mesh.b.sock) as b:
            v1 = await a.kv.put("cas", "one", if_version=0)
            with pytest.raises(peerd.FailedPrecondition) as e:
                await b.kv.put("cas", "other", if_version=0)
            assert e.value.message == "key exists"
            v2 = await b.kv.put("cas", "two", if_version=v1)
            assert v2 > v1
            # a's version is stale now: nothing is written.
            with pytest.raises(peerd.FailedPrecondition) as e:
                await a.kv.put("cas", "lost", if_version=v1)
            assert e.value.message == f"version is {v2}, not {v1}"
            with pytest.raises(peerd.FailedPrecondition) as e:
                await a.kv.delete("cas", if_version=v1)
            assert e.value.message == f"version is {v2}, not {v1}"
            assert await a.kv["cas"] == "two"
            await a.kv.delete("cas", if_version=v2)
            with pytest.raises(peerd.FailedPrecondition) as e:
                await a.kv.put("cas", "x", if_version=v2)
            assert e.value.message == "key is absent"
            with pytest.raises(peerd.FailedPrecondition, match="absent"):
                await a.kv.delete("cas", if_version=v2)
            # Absent again: created only if absent works again.
            await b.kv.put("cas", "three", if_version=0)
            assert await a.kv["cas"] == "three"

    asyncio.run(asyncio.wait_for(run(), 20))


def test_merge_from_two_nodes(kv_mesh: Mesh) -> None:
    async def run() -> None:
        async with await peerd.connect(kv_mesh.a.sock) as a, \
                await peerd.connect(kv_mesh.b.sock) as b:
            await a.kv.put("m", {"keep": 0, "drop": 1})
            # Concurrent merges of different fields all take effect.
            await asyncio.gather(
                *(a.kv.merge("m", {f"a{i}": i}) for i in range(20)),
                *(b.kv.merge("m", {f"b{i}": i}) for i in range(20)))
            want: dict[str, Any] = {
                "keep": 0, "drop": 1, **{f"a{i}": i for i in range(20)},
                **{f"b{i}": i for i in range(20)}}
            assert await a.kv["m"] == want
            # None removes a field; an absent key is an empty dict.
            await b.kv.merge("m", {"drop": None, "keep": [1]})
            del want["drop"]
            want["keep"] = [1]
            assert await a.kv["m"] == want
            await a.kv.merge("m-new", {"x": 1, "gone": None})
            assert await b.kv["m-new"] == {"x": 1}
            await a.kv.put("m-text", "not a map")
            with pytest.raises(peerd.FailedPrecondition,
                               match="not a map"):
                await b.kv.merge("m-text", {"x": 1})
            with pytest.raises(peerd.InvalidArgument, match="mapping"):
                await b.kv.merge("m", [1])      # type: ignore[arg-type]

    asyncio.run(asyncio.wait_for(run(), 20))


def test_ttl(kv_mesh: Mesh) -> None:
    async def run() -> None:
        async with await peerd.connect(kv_mesh.a.sock) as a, \
                await peerd.connect(kv_mesh.b.sock) as b:
            t0 = time.time()
            await a.kv.put("ttl/short", "soon gone", ttl=0.5)
            await a.kv.put("ttl/long", "stays")
            item = await b.kv.item("ttl/short")
            assert item is not None and item.value == "soon gone"
            assert item.expires is not None
            assert t0 + 0.3 < item.expires < time.time() + 0.6
            while await b.kv.contains("ttl/short"):
                assert time.time() < t0 + 5, "ttl/short still there"
                await asyncio.sleep(0.05)
            assert time.time() >= t0 + 0.4
            assert await b.kv["ttl/long"] == "stays"

    asyncio.run(asyncio.wait_for(run(), 20))


def test_items_over_pages_in_order(kv_mesh: Mesh) -> None:
    keys = [f"list/{i:05d}" for i in range(2500)] + ["list/é", "list/z"]

    async def run() -> None:
        async with await peerd.connect(kv_mesh.a.sock) as a, \
                await peerd.connect(kv_mesh.b.sock) as b:
            for i in range(0, len(keys), 250):
                await asyncio.gather(*(a.kv.put(k, len(k) + j) for j, k
                                       in enumerate(keys[i:i + 250], i)))
            await a.kv.put("lis", "outside")
            await a.kv.put("listz", "outside")
            await a.kv.delete("list/z")
            want = [(k, len(k) + j) for j, k in enumerate(keys)
                    if k != "list/z"]
            # 2,501 items: three pages of at most 1000.
            got = [kv async for kv in b.kv.items("list/")]
            assert got == want
            assert [k async for k in b.kv.keys("list/", page=999)] == \
                [k for k, _ in want]
            assert [kv async for kv in b.kv.items("list/0000",
                                                  page=3)] == want[:10]
            assert [kv async for kv in b.kv.items("nothing/")] == []
            listed = [ki async for ki in b.kv.list_items("list/0", page=2)]
            assert [(k, it.value) for k, it in listed] == want[:2500]
            item = await a.kv.item("list/00007")
            assert listed[7] == ("list/00007", item)
            with pytest.raises(peerd.InvalidArgument, match="page"):
                b.kv.items(page=1001)

    asyncio.run(asyncio.wait_for(run(), 25))


def test_watch_sees_changes_in_order(kv_mesh: Mesh) -> None:
    async def run() -> None:
        async with await peerd.connect(kv_mesh.a.sock) as a, \
                await peerd.connect(kv_mesh.b.sock) as b:
            async with b.kv.watch("w/") as w:
                await _probe(w, a, "w/probe")
                await a.kv.put("w/a", 1)
                await b.kv.put("w/a", 2)
                await a.kv.put("x/outside", "x")
                await a.kv.put("w", "outside too")
                await b.kv.merge("w/m", {"f": 1})
                await a.kv.merge("w/m", {"g": 2})
                await a.kv.delete("w/a")
                got = await _drain_probes(w, "w/probe", 5)
                assert all(c.prefix == "w/" for c in got)
                mine = [c for c in got if c.key == "w/a"]
                assert [(c.kind, c.value, c.deleted) for c in mine] == \
                    [("put", 1, False), ("put", 2, False),
                     ("del", None, True)]
                assert mine[0].version < mine[1].version < mine[2].version
                merged = [c for c in got if c.key == "w/m"]
                assert [(c.kind, c.value) for c in merged] == \
                    [("merge", {"f": 1}), ("merge", {"f": 1, "g": 2})]
                assert all(c.lost == 0 and len(c.writer) == 52
                           for c in got)
                # Nothing outside the prefix: a last change comes, and
                # nothing but probes before it.
                await a.kv.put("w/z", "last")
                (last,) = await _drain_probes(w, "w/probe", 1)
                assert last.key == "w/z"
            # Closed: iteration ends at once.
            assert await w.next(timeout=1) is None
            assert [c async for c in w] == []

    asyncio.run(asyncio.wait_for(run(), 20))


def test_watch_queue_counts_drops(kv_mesh: Mesh) -> None:
    """A watch whose reader lags drops the changes beyond its queue and
    counts them in the next one's lost; another watch of the same
    prefix on the same node sees every change."""
    async def run() -> None:
        async with await peerd.connect(kv_mesh.a.sock) as a:
            async with a.kv.watch("q/") as every:
                await _probe(every, a, "q/probe")
                async with a.kv.watch("q/", queue=2) as small:
                    for i in range(5):
                        await a.kv.put("q/k", i)
                    # One message reaches both watches at once: when
                    # every has the last, small has had all five.
                    values: list[Any] = []
                    while not values or values[-1] != 4:
                        c = await every.next(timeout=5)
                        assert c is not None and c.lost == 0
                        values.append(c.value)
                    assert values == [0, 1, 2, 3, 4]
                    got = [await small.next(timeout=1) for _ in range(2)]
                    assert [(c.value, c.lost) for c in got if c] == \
                        [(0, 0), (1, 0)]
                    await a.kv.put("q/k", "after")
                    c = await small.next(timeout=5)
                    assert c is not None
                    assert (c.value, c.lost) == ("after", 3)
                c = await every.next(timeout=5)
                assert c is not None and (c.value, c.lost) == ("after", 0)

    asyncio.run(asyncio.wait_for(run(), 20))


def test_watch_after_a_daemon_restart(kv_mesh: Mesh) -> None:
    """The node watches again once it has reconnected; changes after
    that are reported (those of the gap are not).  Closing the node
    ends the watch's iteration; a connection lost for good raises."""
    async def run() -> None:
        async with await peerd.connect(kv_mesh.a.sock) as a:
            b = await peerd.connect(kv_mesh.b.sock, timeout=2)
            w = await b.kv.watch("r/").start()
            await _probe(w, a, "r/probe")
            await asyncio.to_thread(kv_mesh.b.stop)
            await asyncio.to_thread(kv_mesh.b.start, kv_mesh.a)
            await b.wait_connected(10)
            await _probe(w, a, "r/probe2")
            await a.kv.put("r/k", "back")
            (c,) = await _drain_probes(w, "r/probe2", 1)
            assert (c.key, c.value) == ("r/k", "back")
            # Closed while it reconnects: iteration ends too.
            await asyncio.to_thread(kv_mesh.b.stop)
            await b.close()
            assert await w.next(timeout=1) is None
            await w.close()

            await asyncio.to_thread(kv_mesh.b.start, kv_mesh.a)
            once = await peerd.connect(kv_mesh.b.sock, reconnect=False)
            w2 = await once.kv.watch("r/").start()
            await asyncio.to_thread(kv_mesh.b.stop)
            with pytest.raises(peerd.Unavailable):
                await w2.next(timeout=5)
            await once.close()

    asyncio.run(asyncio.wait_for(run(), 30))


@pytest.fixture
def runner() -> Iterator[Runner]:
    r = Runner()
    yield r
    r.close()


def test_sync_kv_is_dict_like(kv_mesh: Mesh, runner: Runner) -> None:
    node = runner.run(peerd.connect(kv_mesh.b.sock))
    other = runner.run(peerd.connect(kv_mesh.a.sock))
    try:
        kv = SyncKV(node.kv, runner)
        kv["s/a"] = {"x": 1}
        assert kv["s/a"] == {"x": 1}
        assert "s/a" in kv and "s/absent" not in kv and 5 not in kv
        with pytest.raises(KeyError):
            kv["s/absent"]
        with pytest.raises(KeyError):
            del kv["s/absent"]
        assert kv.get("s/absent", "d") == "d"
        item = kv.item("s/a")
        assert item is not None and item.value == {"x": 1}
        v = kv.put("s/a", {"x": 2}, if_version=item.version)
        with pytest.raises(peerd.FailedPrecondition, match="not"):
            kv.put("s/a", {"x": 3}, if_version=item.version)
        assert kv.merge("s/a", {"y": 3, "x": None}) > v
        assert kv["s/a"] == {"y": 3}
        kv["s/b"] = [1, 2]
        assert list(kv.items("s/")) == [("s/a", {"y": 3}), ("s/b", [1, 2])]
        assert list(kv.keys("s/")) == ["s/a", "s/b"]
        assert list(kv.list_items("s/b")) == [("s/b", kv.item("s/b"))]
        assert {"s/a", "s/b"} <= set(kv)
        assert [o.name for o in kv.where("s/b")] in (["a", "b"], ["b", "a"])
        del kv["s/a"]
        assert "s/a" not in kv

        with kv.watch("s/") as w:
            # Until the lease is in place, a write may not be reported.
            for i in range(50):
                runner.run(other.kv.put("s/probe", i))
                try:
                    c = w.next(timeout=0.2)
                except peerd.DeadlineExceeded:
                    continue
                if c is not None and c.key == "s/probe":
                    break
            else:
                pytest.fail("no change of s/probe reported")
            kv["s/c"] = "seen"
            del kv["s/c"]
            got = []
            for c in w:
                if c.key == "s/c":
                    got.append((c.kind, c.value))
                    if c.deleted:
                        break
            assert got == [("put", "seen"), ("del", None)]

        # close() from another thread ends a blocked iteration.
        w = kv.watch("s/")
        rest: list[peerd.Change] = []
        t = threading.Thread(target=lambda: rest.extend(w))
        t.start()
        w.close()
        t.join(5)
        assert not t.is_alive()
    finally:
        runner.run(node.close())
        runner.run(other.close())


def test_malformed_changes_are_dropped(kv_mesh: Mesh) -> None:
    """kv_change messages are checked: a malformed one is dropped (and
    logged once), the watch goes on."""
    async def run() -> None:
        async with await peerd.connect(kv_mesh.a.sock) as a:
            async with a.kv.watch("m/") as w:
                good: dict[str, Any] = {
                    "op": "kv_change", "prefix": "m/", "key": "m/k",
                    "change": "put", "version": 7, "writer": "w",
                    "value": [1]}
                bads: list[dict[str, Any]] = [
                    {**good, "key": 5}, {**good, "version": -1},
                    {**good, "change": "new"}, {**good, "key": "x/k"},
                    {k: v for k, v in good.items() if k != "value"},
                    {**good, "lost": "many"}, {**good, "prefix": None}]
                for bad in bads:
                    a.kv._on_change(bad)
                a.kv._on_change({**good, "lost": 2, "extra": "ignored"})
                a.kv._on_change({**good, "change": "expired",
                                 "version": 8})
                assert await w.next(timeout=1) == peerd.Change(
                    "m/k", [1], 7, False, 2, "put", "w", "m/")
                c = await w.next(timeout=1)
                assert c is not None and c.deleted and c.value is None
                assert c.kind == "expired"
                with pytest.raises(peerd.DeadlineExceeded):
                    await w.next(timeout=0.1)

    asyncio.run(asyncio.wait_for(run(), 10))
