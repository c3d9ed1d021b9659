#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""calc_server.py: a remote object.  Serves the public methods of a
Calculator as the service "calc" through the local peerd; any node of
the network reaches it through a proxy (calc_client.py) or peerctl:

    peerctl call calc.add 2 3

Runs until interrupted.  The socket is found as peerctl finds it
($PEERD_SOCKET, ...)."""

import asyncio
import math

import peerd


class Calculator:
    """Its public methods are the service's methods; the instance keeps
    its state between calls, as a remote object would."""

    def __init__(self) -> None:
        self.memory = 0.0

    def add(self, a: float, b: float) -> float:
        return a + b

    def divide(self, a: float, b: float) -> float:
        if b == 0:
            raise peerd.InvalidArgument("division by zero", {"a": a})
        return a / b

    def store(self, x: float) -> float:
        self.memory = x
        return self.memory

    def recall(self) -> float:
        return self.memory

    async def slow_sqrt(self, x: float) -> float:
        """An async method: waits without holding a thread, and gives up
        with the caller (the caller's timeout is visible here)."""
        call = peerd.current_call()
        await asyncio.sleep(min(0.2, call.remaining()))
        return math.sqrt(x)


async def main() -> None:
    async with await peerd.connect() as node:
        node.service("calc")(Calculator)
        print("calc served on", node.info["name"], flush=True)
        await node.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
