# SPDX-License-Identifier: ISC
"""_serve.py: serving a service from Python (doc/PROTOCOL.md section 8
register/unregister, section 9 invoke/reply/cancelled)."""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from ._conn import Connection

__all__ = ["Serving", "Invocation", "current_call"]

T = TypeVar("T")


class Invocation:
    """The call a handler is serving: service, method, caller (the
    caller's node ID, "from"), timeout (seconds), deadline
    (loop.time() by which the caller stops waiting), remaining()."""


def current_call() -> Invocation:
    """The Invocation the running handler serves (a contextvar);
    LookupError outside a handler."""
    raise NotImplementedError


class Serving(Connection):

    def service(self, name: str, *, group: str | None = None
                ) -> Callable[[T], T]:
        """Decorator.  On a function: serves it as method <function
        name> of service name (several functions may share a name).  On
        a class: instantiates it with no arguments and serves its public
        methods.  Methods may be sync (run in a thread) or async.
        Registration starts at once on the running loop; an error from
        it is raised by serve_forever."""
        raise NotImplementedError

    async def register(self, name: str, handler: Any, *,
                       group: str | None = None) -> None:
        """Serves handler (an object whose public methods are the
        methods, or a dict of method name to callable) as service
        name; registered again after every reconnection."""
        raise NotImplementedError

    async def unregister(self, name: str, *,
                         group: str | None = None) -> None:
        """Stops serving name (open invocations go on)."""
        raise NotImplementedError
