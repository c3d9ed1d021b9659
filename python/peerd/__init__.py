# SPDX-License-Identifier: ISC
"""peerd: a Python client of the peerd control protocol
(doc/PROTOCOL.md), asyncio at the core.

    node = await peerd.connect()
    print(await node.call("echo.echo", "hi", timeout=5))
    await node.close()
"""

from ._calls import Answer, Proxy
from ._conn import default_socket
from ._events import Event, Subscription
from ._kv import KV, Change, Item, Owner, SyncKV, SyncWatch, Watch
from ._serve import Invocation, current_call
from ._status import MembershipWatch
from ._sync import SyncNode, SyncProxy, SyncStream, connect_sync
from .node import Node, connect
from .errors import (CODES, AlreadyExists, Cancelled, DeadlineExceeded,
                     FailedPrecondition, Internal, InvalidArgument, NotFound,
                     PeerError, PermissionDenied, ProtocolError,
                     ResourceExhausted, Unavailable, Unimplemented, Unknown)

__version__ = "0.1.0"

__all__ = [
    "Node", "connect", "connect_sync", "SyncNode", "default_socket",
    "Answer", "Proxy", "Invocation", "current_call", "Event",
    "Subscription", "KV", "Item", "Change", "Owner", "Watch", "SyncKV",
    "SyncWatch", "MembershipWatch", "SyncProxy", "SyncStream", "CODES", "PeerError", "Cancelled",
    "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound",
    "AlreadyExists", "PermissionDenied", "ResourceExhausted",
    "FailedPrecondition", "Unimplemented", "Internal", "Unavailable",
    "ProtocolError",
]
