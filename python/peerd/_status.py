# SPDX-License-Identifier: ISC
"""_status.py: what the daemon knows of the mesh (doc/PROTOCOL.md
section 8: status, peers, members, services, topics, ping)."""

from __future__ import annotations

from typing import Any

from ._conn import Connection

__all__ = ["Membership"]


class Membership(Connection):

    async def status(self) -> dict[str, Any]:
        raise NotImplementedError

    async def peers(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    async def members(self, group: str | None = None,
                      hubs: bool | None = None) -> list[dict[str, Any]]:
        raise NotImplementedError

    async def services(self, service: str | None = None
                       ) -> list[dict[str, Any]]:
        raise NotImplementedError

    async def topics(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    async def ping(self, node: str) -> float:
        """Round-trip time to node, in seconds."""
        raise NotImplementedError
