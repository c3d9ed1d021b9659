# SPDX-License-Identifier: ISC
"""peerd: a Python client of the peerd control protocol
(doc/PROTOCOL.md), asyncio at the core.

    node = await peerd.connect()
    print(await node.call("echo.echo", "hi", timeout=5))
    await node.close()
"""

from ._conn import Node, connect, default_socket
from .errors import (CODES, AlreadyExists, Cancelled, DeadlineExceeded,
                     FailedPrecondition, Internal, InvalidArgument, NotFound,
                     PeerError, PermissionDenied, ProtocolError,
                     ResourceExhausted, Unavailable, Unimplemented, Unknown)

__version__ = "0.1.0"

__all__ = [
    "Node", "connect", "default_socket", "CODES", "PeerError", "Cancelled",
    "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound",
    "AlreadyExists", "PermissionDenied", "ResourceExhausted",
    "FailedPrecondition", "Unimplemented", "Internal", "Unavailable",
    "ProtocolError",
]
