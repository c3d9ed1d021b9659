#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""rpc_client.py: calls rpc_server.py's "jobs" with asyncio: requests
with timeouts, a notification, and each error as its own exception."""

import asyncio
import sys

import peerd


async def main() -> int:
    async with await peerd.connect() as node:
        jobs = node.proxy("jobs", timeout=2)
        n = await jobs.submit("build", 0.3)
        print("submitted job", n)
        print("status:", await jobs.status(n))

        try:
            await jobs.status(999)
        except peerd.NotFound as e:
            print("not found:", e.message, e.context)
        try:
            await jobs.submit("deploy", 1)
        except peerd.InvalidArgument as e:
            print("invalid:", e.message, e.context)

        slow = await jobs.submit("test", 30)
        try:
            await node.call("jobs.wait", slow, timeout=0.2)
        except peerd.DeadlineExceeded as e:
            print("deadline:", e.message)

        print("wait:", await node.call("jobs.wait", n, timeout=2))

        sent = await node.notify("jobs.note", "deployed by rpc_client")
        print("notification handed to", sent, "node(s)")
        # A notification is not answered: ask for what it did.
        for _ in range(50):
            if "deployed by rpc_client" in await jobs.notes_seen():
                print("the server has the note")
                break
            await asyncio.sleep(0.02)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except peerd.PeerError as e:
        sys.exit(f"rpc_client: {e}")
