# SPDX-License-Identifier: ISC
"""_calls.py: calling services: call, notify, fan-out (call_all) and
proxies (doc/PROTOCOL.md section 8: call, notify, cancel)."""

from __future__ import annotations

from typing import Any, AsyncIterator

from ._conn import TIMEOUT_DEFAULT, Connection
from .errors import InvalidArgument

__all__ = ["Calls", "Answer", "Proxy", "split_name"]

CALL_MARGIN = 1.0               # seconds a call waits past its deadline


def split_name(service_method: str) -> tuple[str, str]:
    """("svc", "m") for "svc.m", split at the last dot."""
    service, dot, method = service_method.rpartition(".")
    if not dot or not service or not method:
        raise InvalidArgument(f"{service_method!r}: not service.method")
    return service, method


def call_args(args: tuple[Any, ...]) -> dict[str, Any]:
    """The "args" key for a call's positional arguments: none, that
    item, or an array of them."""
    if len(args) == 1:
        return {"args": args[0]}
    return {"args": list(args)} if args else {}


class Answer:
    """One provider's answer to a fan-out call: node (ID), name, and
    either result or error (a PeerError, raised by .value())."""


class Proxy:
    """node.proxy("calc").add(2, 3): attribute access names the method;
    calling it returns the call's coroutine."""


class Calls(Connection):

    async def call(self, service_method: str, *args: Any,
                   timeout: float = TIMEOUT_DEFAULT,
                   to: str | None = None) -> Any:
        """Calls a method of a service and returns its answer.
        service_method is "service.method", split at the last dot (use
        call_method for a dotted method name).  No args: the call has no
        args; one: that item; several: an array of them.  timeout is in
        seconds (the daemon's deadline, 1 ms to one day); to restricts
        the providers (doc/PROTOCOL.md section 8, call).  Cancelling
        the awaiting task cancels the call: the daemon is sent a cancel,
        and the serving app hears cancelled."""
        service, method = split_name(service_method)
        return await self.call_method(service, method, *args,
                                      timeout=timeout, to=to)

    async def call_method(self, service: str, method: str, *args: Any,
                          timeout: float = TIMEOUT_DEFAULT,
                          to: str | None = None) -> Any:
        """As call, with the service and the method apart."""
        ms = round(timeout * 1000)
        if not 1 <= ms <= 86_400_000:
            raise InvalidArgument(f"timeout {timeout} s out of range "
                                  "(0.001 s to one day)")
        keys: dict[str, Any] = {"service": service, "method": method,
                                "timeout": ms, **call_args(args)}
        if to is not None:
            keys["to"] = to
        # The daemon answers by the deadline; wait a margin past it.
        return await self.request("call", wait=timeout + CALL_MARGIN,
                                  cancel=True, **keys)

    async def notify(self, service_method: str, *args: Any,
                     to: str | None = None) -> None:
        """A one-way call: no answer wanted (doc/PROTOCOL.md notify)."""
        raise NotImplementedError

    def call_all(self, service_method: str, *args: Any,
                 timeout: float = TIMEOUT_DEFAULT,
                 to: str | None = None) -> AsyncIterator[Answer]:
        """Calls every provider; yields each Answer as it arrives."""
        raise NotImplementedError

    def proxy(self, service: str, *, timeout: float = TIMEOUT_DEFAULT,
              to: str | None = None) -> Proxy:
        """A proxy of service: proxy.method(*args) is
        call_method(service, "method", *args, timeout=, to=)."""
        raise NotImplementedError
