# SPDX-License-Identifier: ISC
"""_proto.py: control protocol framing (doc/PROTOCOL.md sections 2-3):
a 4-byte big-endian length, then exactly one CBOR map."""

from __future__ import annotations

import asyncio
import io
import struct
from typing import Any, TypeGuard

import cbor2

from .errors import ProtocolError

HDR = 4
# As libpeer: independent of the daemon's max_message, the largest
# maximum there can be, 1 GiB + 64 KiB.
FRAME_MAX = (1 << 30) + (64 << 10)
MAP_MAX = 32            # entries of the top-level map
UINT_MAX = (1 << 64) - 1


def is_uint(v: object) -> TypeGuard[int]:
    """Whether v is a CBOR uint, as PROTOCOL.md's "uint" keys are: an
    int, not a bool, 0 to 2^64 - 1 (a bignum is not one, and its repr
    may not even print)."""
    return isinstance(v, int) and not isinstance(v, bool) \
        and 0 <= v <= UINT_MAX


def encode(msg: dict[str, Any]) -> bytes:
    """One frame holding msg.  Raises ValueError if it is not a map of
    at most 32 text keys or would exceed FRAME_MAX."""
    return Encoder().encode(msg)


class Encoder:
    """encode() with one cbor2 encoder kept: making one costs more
    (3 us) than encoding a small message with it.  For one thread: a
    connection keeps one for its loop."""

    def __init__(self) -> None:
        self._out = io.BytesIO()
        self._enc = cbor2.CBOREncoder(self._out)

    def encode(self, msg: dict[str, Any]) -> bytes:
        """As the function encode()."""
        if not isinstance(msg, dict) or len(msg) > MAP_MAX:
            raise ValueError("a message is a map of at most 32 entries")
        for k in msg:
            if not isinstance(k, str):
                raise ValueError("message keys must be text")
        out = self._out
        out.seek(0)
        out.truncate()
        try:
            self._enc.encode(msg)
        except BaseException:
            # Stopped half way: what it keeps of msg is not to be kept.
            self._enc = cbor2.CBOREncoder(out)
            raise
        n = out.tell()
        if n > FRAME_MAX:
            raise ValueError(f"frame of {n} bytes exceeds {FRAME_MAX}")
        return struct.pack(">I", n) + out.getvalue()


def decode(payload: bytes) -> dict[str, Any]:
    """The map a frame's payload holds.  Raises ProtocolError unless it
    is exactly one CBOR item, a map of at most 32 entries with distinct
    text keys."""
    fp = io.BytesIO(payload)
    try:
        item = cbor2.CBORDecoder(fp).decode()
    except Exception as e:
        # Not only CBORDecodeError: a tag's own constructor raises what
        # it raises (a Fraction over 0, a datetime out of range, a bad
        # regex), and a length past the frame can be a MemoryError.
        raise ProtocolError(f"malformed frame: {type(e).__name__}: "
                            f"{str(e):.200}") from None
    if fp.tell() != len(payload):
        raise ProtocolError(f"malformed frame: {len(payload) - fp.tell()} "
                            "bytes after the map")
    if not isinstance(item, dict):
        raise ProtocolError("malformed frame: not a map, "
                            f"{type(item).__name__}")
    if len(item) > MAP_MAX:
        raise ProtocolError(f"malformed frame: map of {len(item)} entries "
                            f"(at most {MAP_MAX})")
    if not all(isinstance(k, str) for k in item):
        raise ProtocolError("malformed frame: a key is not text")
    return item


def check_length(n: int) -> None:
    """Raises ProtocolError for a frame length outside 1..FRAME_MAX."""
    if n == 0:
        raise ProtocolError("malformed frame: length 0")
    if n > FRAME_MAX:
        raise ProtocolError(f"malformed frame: length {n} exceeds "
                            f"{FRAME_MAX}")


async def read_frame(reader: asyncio.StreamReader) -> dict[str, Any] | None:
    """The next message, or None at end-of-file between frames.  Raises
    ProtocolError for a bad length, a truncated frame or bad CBOR; the
    length is checked before the payload is read."""
    try:
        hdr = await reader.readexactly(HDR)
    except asyncio.IncompleteReadError as e:
        if not e.partial:
            return None
        raise ProtocolError("truncated frame: connection ended in "
                            "the header") from None
    (n,) = struct.unpack(">I", hdr)
    check_length(n)
    try:
        payload = await reader.readexactly(n)
    except asyncio.IncompleteReadError as e:
        raise ProtocolError(f"truncated frame: {len(e.partial)} of {n} "
                            "bytes before the connection ended") from None
    return decode(payload)
