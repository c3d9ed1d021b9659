# SPDX-License-Identifier: ISC
"""errors.py: one exception class per error code of doc/PROTOCOL.md
section 7, the mapping from an error value on the wire to them, and
brief(), the repr of a value from the daemon for an error message."""

from __future__ import annotations

import reprlib
from typing import Any

__all__ = [
    "PeerError", "Cancelled", "Unknown", "InvalidArgument",
    "DeadlineExceeded", "NotFound", "AlreadyExists", "PermissionDenied",
    "ResourceExhausted", "FailedPrecondition", "Unimplemented", "Internal",
    "Unavailable", "ProtocolError", "error_from_wire", "CODES",
]

class _Brief(reprlib.Repr):
    """A repr that is short and cannot fail, whatever the daemon sent:
    long ints (whose repr raises ValueError beyond 4300 digits), bytes
    and text are cut before they are formatted."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = 4
        self.maxdict = self.maxlist = 8
        self.maxstring = self.maxother = 80

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 128:
            return f"<int of {x.bit_length()} bits>"
        return repr(x)

    def repr_bytes(self, x: bytes, level: int) -> str:
        s = repr(x[:self.maxstring])
        return s + "..." if len(x) > self.maxstring else s


_BRIEF = _Brief()


def brief(value: Any, limit: int = 200) -> str:
    """value's repr for a message, at most limit characters; for values
    from the daemon, which may be huge or unprintable."""
    try:
        text = _BRIEF.repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit - 3] + "..."


class PeerError(Exception):
    """An error with a code, a message and an optional context (any
    CBOR item the serving app sent; None if absent)."""

    code: str = "UNKNOWN"
    number: int = 2

    def __init__(self, message: str = "", context: Any = None) -> None:
        super().__init__(message)
        self.message: str = message
        self.context: Any = context

    def __str__(self) -> str:
        s = f"{self.code}: {self.message}"
        if self.context is not None:
            s += f" (context: {brief(self.context)})"
        return s

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.message!r}, "
                f"context={brief(self.context)})")


class Cancelled(PeerError):
    code, number = "CANCELLED", 1


class Unknown(PeerError):
    code, number = "UNKNOWN", 2


class InvalidArgument(PeerError):
    code, number = "INVALID_ARGUMENT", 3


class DeadlineExceeded(PeerError):
    code, number = "DEADLINE_EXCEEDED", 4


class NotFound(PeerError):
    code, number = "NOT_FOUND", 5


class AlreadyExists(PeerError):
    code, number = "ALREADY_EXISTS", 6


class PermissionDenied(PeerError):
    code, number = "PERMISSION_DENIED", 7


class ResourceExhausted(PeerError):
    code, number = "RESOURCE_EXHAUSTED", 8


class FailedPrecondition(PeerError):
    code, number = "FAILED_PRECONDITION", 9


class Unimplemented(PeerError):
    code, number = "UNIMPLEMENTED", 12


class Internal(PeerError):
    code, number = "INTERNAL", 13


class Unavailable(PeerError):
    code, number = "UNAVAILABLE", 14


class ProtocolError(Internal):
    """The daemon broke the protocol: a malformed frame or message.
    The connection is closed; its code is INTERNAL, as libpeer's."""


CODES: dict[str, type[PeerError]] = {
    c.code: c for c in (
        Cancelled, Unknown, InvalidArgument, DeadlineExceeded, NotFound,
        AlreadyExists, PermissionDenied, ResourceExhausted,
        FailedPrecondition, Unimplemented, Internal, Unavailable)
}


def error_from_wire(value: Any) -> PeerError:
    """The exception for an error value ({"code", "message", "context"}).
    An unknown code, or OK, becomes Unknown; a value that is not a map
    with a text code becomes ProtocolError."""
    if not isinstance(value, dict) or not isinstance(value.get("code"), str):
        return ProtocolError(f"malformed error value: {brief(value)}")
    message = value.get("message")
    if not isinstance(message, str):
        message = ""
    cls = CODES.get(value["code"], Unknown)
    return cls(message, value.get("context"))
