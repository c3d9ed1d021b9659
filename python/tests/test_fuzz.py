# SPDX-License-Identifier: ISC
"""test_fuzz.py: a fake daemon sends a node id-less messages of every op
with keys of any CBOR value (wrong types, huge ints, missing keys),
while the node serves, subscribes, watches and waits on a fan-out call;
no handler may fail, and the node must stay usable."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from pathlib import Path
from typing import Any

import cbor2
import pytest

import conftest
import peerd
from conftest import answer_empty, frame, until

SEED = 1307
BATCHES = 40
BATCH = 50
TIME_MAX = 4.0          # seconds of fuzzing, at most

# The keys of each op the daemon starts (doc/PROTOCOL.md sections 9-12),
# with values of the right type, to get past a handler's first checks;
# some out of any range the daemon would send.
PLAUSIBLE: dict[str, dict[str, list[Any]]] = {
    "invoke": {"call": [1, 2, 3, 0], "service": ["svc"],
               "method": ["echo", "nosuch"], "group": [""],
               "from": ["caller"], "timeout": [5000, 1, 2**64, 10**5000],
               "oneway": [False, True], "args": [1, [1, 2], []]},
    "cancelled": {"call": [1, 2, 3], "reason": ["r"]},
    "event": {"topic": ["t"], "node": ["n"], "name": ["a"],
              "seq": [1, 2**64, 10**5000], "lost": [0, 3, 10**5000],
              "data": [None, 1]},
    "kv_change": {"prefix": ["p"], "key": ["p/x", "q"],
                  "change": ["put", "del", "merge", "expired"],
                  "version": [1, 10**5000], "writer": ["w"],
                  "lost": [0, 1, 10**5000],
                  "value": [1, {"f": 1}]},
    "change": {"kind": ["member-join", "service-registered", "new-kind"],
               "node": ["n"], "name": ["a"], "incarnation": [1],
               "time": [1, -1], "why": ["w"], "service": ["svc"],
               "group": [""], "lost": [0, 2, 10**5000]},
    "answer": {"call": [], "answer": [
        {"node": "n", "name": "a", "result": 1},
        {"node": "n", "name": "a", "error": {"code": "NOT_FOUND",
                                              "message": "m"}}]},
    "log": {"level": ["info"], "message": ["m"]},
}

INTS = [0, 1, -1, 2**31, 2**53 + 1, 2**63, 2**64 - 1, -2**64, 2**64,
        10**30, -10**30, 10**5000, -10**5000]
FLOATS = [0.5, -0.0, 1e308, float("inf"), float("-inf"), float("nan")]


def is_uint(v: Any) -> bool:
    """A CBOR uint, as PROTOCOL.md's uint keys are: 0 to 2^64 - 1."""
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**64


def any_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(10 if depth < 3 else 7)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice(INTS + [rng.randint(-1000, 1000)])
    if kind == 3:
        return rng.choice(FLOATS)
    if kind == 4:
        return rng.choice(["", "x", "p/x", "svc", "\u00e9\u6f22", "a" * 300])
    if kind == 5:
        return rng.choice([b"", b"\x00\xff", bytes(5000)])
    if kind == 6:
        return rng.choice([cbor2.CBORSimpleValue(99),
                           cbor2.undefined])
    if kind == 7:
        return [any_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == 8:
        return {rng.choice(["a", "node", "code", 1, b"k"]):
                any_value(rng, depth + 1) for _ in range(rng.randrange(4))}
    return cbor2.CBORTag(rng.choice([999, 55799, 40000]),
                         any_value(rng, depth + 1))


def fuzzed(rng: random.Random, op: str, fan_out: int) -> dict[str, Any]:
    msg: dict[str, Any] = {"op": op}
    for key, values in PLAUSIBLE[op].items():
        if key == "call" and op == "answer":
            values = [fan_out]
        r = rng.random()
        if r < 0.1:
            continue                    # missing
        msg[key] = rng.choice(values) if r < 0.8 and values else \
            any_value(rng)
    if rng.random() < 0.1:
        msg["extra"] = any_value(rng)
    return msg


class FakeDaemon(conftest.FakeDaemon):
    """Answers every request with an empty map (hello with protocol 1),
    but holds a fan-out call unanswered and notes its id; counts the
    replies to invokes it gets."""

    def __init__(self) -> None:
        super().__init__()
        self.fan_out: asyncio.Future[int] | None = None
        self.replies: list[dict[str, Any]] = []

    async def handle(self, req: dict[str, Any],
                     w: asyncio.StreamWriter) -> None:
        op = req.get("op")
        if op == "reply":
            self.replies.append(req)
        elif op == "call" and req.get("all"):
            assert self.fan_out is not None
            self.fan_out.set_result(req["id"])
        else:
            await answer_empty(req, w)


class Failures(logging.Handler):
    """The log records that say a handler or a task failed, and how
    many warnings there were (a malformed message is logged once per
    op, not each time)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: list[str] = []
        self.warnings = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception as e:      # logging would print "Logging error"
            self.seen.append(f"unformattable: {record.msg}: {e!r:.100}")
            return
        if record.levelno == logging.WARNING:
            self.warnings += 1
            return
        if record.name == "asyncio" or text.startswith(
                ("peerd: handler for", "peerd: task failed")):
            self.seen.append(f"{text} {record.exc_info!r:.300}")


def test_malformed_messages_of_every_op(tmp_base: Path) -> None:
    path = str(tmp_base / "fake.sock")
    failures = Failures()
    rng = random.Random(SEED)

    async def drain(it: Any) -> list[Any]:
        got = []
        async for x in it:
            got.append(x)
        return got

    async def run() -> None:
        fake = FakeDaemon()
        fake.fan_out = asyncio.get_running_loop().create_future()

        async def echo(*args: Any) -> Any:
            return list(args)

        async with await asyncio.start_unix_server(fake.serve, path):
            node = await peerd.connect(path)
            await node.register("svc", {"echo": echo})
            sub = await node.subscribe("t")

            @node.on("t")
            def fails(ev: peerd.Event) -> None:
                raise RuntimeError("logged with the event's seq")
            watch = await node.kv.watch("p").start()
            members = await node.watch()
            answers = node.call_all("svc.m", timeout=60)
            readers = [asyncio.create_task(drain(x))
                       for x in (sub, watch, members, answers)]
            call_id = await asyncio.wait_for(fake.fan_out, 2)

            end = time.monotonic() + TIME_MAX
            for _ in range(BATCHES):
                for _ in range(BATCH):
                    op = rng.choice(list(PLAUSIBLE))
                    fake.send(**fuzzed(rng, op, call_id))
                # Its reply comes after every message sent before it.
                assert await node.request("status", wait=2) == {}
                if time.monotonic() > end:
                    break
            assert node.connected and not failures.seen, failures.seen
            assert failures.warnings <= len(PLAUSIBLE)

            # Still usable: a well-formed message of each op arrives.
            fake.replies.clear()
            fake.send(op="invoke", call=10**6, service="svc",
                      method="echo", timeout=1000, args=["after"],
                      **{"from": "c"})      # a keyword in Python
            fake.send(op="event", topic="t", node="n", name="a", seq=9,
                      data="after")
            fake.send(op="kv_change", prefix="p", key="p/after",
                      change="put", version=1, writer="w", value=1)
            fake.send(op="change", kind="member-join", node="after",
                      name="a")
            fake.send(op="answer", call=call_id, answer={
                "node": "after", "name": "a", "result": 1})
            fake.send(id=call_id, result={"answers": 0})
            await node.request("status", wait=2)
            await until(lambda: any(r.get("call") == 10**6
                                    for r in fake.replies),
                        "the invoke's reply", 2)
            assert {"op": "reply", "call": 10**6, "result": ["after"]} \
                in fake.replies
            got_answers = await asyncio.wait_for(readers[3], 2)
            assert got_answers[-1].node == "after"
            await node.close()
            got = await asyncio.wait_for(asyncio.gather(*readers[:3]), 2)
            assert got[0][-1].data == "after"
            assert got[1][-1].key == "p/after"
            assert got[2][-1]["node"] == "after"
            # What the node hands on has uints that are uints (a bignum
            # would not even print).
            assert all(is_uint(ev.seq) for ev in got[0])
            assert all(is_uint(c.version) for c in got[1])
            assert all(is_uint(c.get("lost", 0)) for c in got[2])
        assert not failures.seen, failures.seen

    loggers = [logging.getLogger("peerd"), logging.getLogger("asyncio")]
    for lg in loggers:
        lg.addHandler(failures)
    try:
        asyncio.run(asyncio.wait_for(run(), 15))
    finally:
        for lg in loggers:
            lg.removeHandler(failures)


@pytest.mark.parametrize("seed", [1, 2])
def test_any_value_is_encodable(seed: int) -> None:
    """The generator makes only what a daemon could send."""
    rng = random.Random(seed)
    for op in PLAUSIBLE:
        for _ in range(50):
            assert peerd._proto.decode(frame(fuzzed(rng, op, 1))[4:])
