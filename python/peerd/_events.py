# SPDX-License-Identifier: ISC
"""_events.py: publishing and subscribing (doc/PROTOCOL.md section 8
subscribe/unsubscribe/publish, section 10 event)."""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from ._conn import Connection

__all__ = ["Events", "Event", "Subscription"]

T = TypeVar("T")


class Event:
    """One event: topic, data (None if absent), node (the publisher's
    ID), name, seq, lost (events dropped for this client before it; 0
    if none)."""


class Subscription:
    """`async for ev in node.subscribe("sensor.*")`; an async context
    manager; `await sub.close()` unsubscribes.  Subscribed again after
    every reconnection."""


class Events(Connection):

    async def publish(self, topic: str, data: Any = None) -> int:
        """Publishes an event; returns its seq."""
        raise NotImplementedError

    def subscribe(self, *patterns: str, queue: int = 1024) -> Subscription:
        """Subscribes to topics matching patterns; events beyond queue
        unread are dropped and counted in the next one's lost."""
        raise NotImplementedError

    def on(self, *patterns: str) -> Callable[[T], T]:
        """Decorator: calls the function (sync or async) with each
        Event whose topic matches."""
        raise NotImplementedError
