#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""rpc_server.py: requests and notifications with typed errors.  Serves
"jobs": submit(kind, seconds) starts a job and returns its number,
status(n) says how it is doing (NotFound for a number it never gave),
wait(n) waits for a job within the caller's deadline, and note(text) is
meant for notifications (peerd's notify: no answer).  Run it, then
rpc_client.py."""

import asyncio
import time

import peerd

KINDS = ("build", "test")


class Jobs:
    def __init__(self) -> None:
        self.jobs: dict[int, tuple[str, float]] = {}   # n: kind, done at
        self.notes: list[str] = []

    def submit(self, kind: str, seconds: float) -> int:
        if kind not in KINDS:
            raise peerd.InvalidArgument(f"no job kind {kind!r}",
                                        {"kinds": list(KINDS)})
        if not 0 <= seconds <= 60:
            raise peerd.InvalidArgument("seconds must be 0 to 60")
        n = len(self.jobs) + 1
        self.jobs[n] = (kind, time.monotonic() + seconds)
        return n

    def status(self, n: int) -> str:
        if n not in self.jobs:
            raise peerd.NotFound(f"no job {n}", {"jobs": len(self.jobs)})
        return "done" if time.monotonic() >= self.jobs[n][1] else "running"

    async def wait(self, n: int) -> str:
        """Waits for job n: the caller's timeout ends the wait, and the
        caller cancelling it cancels this task."""
        while self.status(n) != "done":
            await asyncio.sleep(0.05)
        return "done"

    def note(self, text: str) -> None:
        self.notes.append(text)
        print("note:", text, flush=True)

    def notes_seen(self) -> list[str]:
        return self.notes


async def main() -> None:
    async with await peerd.connect() as node:
        node.service("jobs")(Jobs)
        print("jobs served on", node.info["name"], flush=True)
        await node.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
