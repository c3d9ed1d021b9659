#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""lan_group.py: peers of a group on a LAN, with decorated functions
and events.  Each host in the lab runs it with the same group; each
serves its readings to the group, asks every peer of the group for
theirs, and hears the group's alerts:

    python3 lan_group.py GROUP [ROUNDS]

The daemons find each other on the LAN themselves (peerd's multicast
discovery); GROUP is a service group, 1-32 of a-z 0-9 - _ ."""

import asyncio
import os
import sys

import peerd


async def main(group: str, rounds: int) -> int:
    async with await peerd.connect() as node:
        me = node.info["name"]

        @node.service("sensor", group=group)
        def read() -> dict[str, object]:
            """This host's reading, for the group's peers."""
            return {"host": me, "load": os.getloadavg()[0]}

        @node.on(f"{group}.alert")
        async def alert(ev: peerd.Event) -> None:
            print(f"alert from {ev.name}: {ev.data}", flush=True)

        await node.wait_connected(5)
        for _ in range(rounds):
            # Every provider of sensor in this group, this host included
            # once its registration is in (the decorator registers in
            # the background).
            try:
                async for answer in node.call_all("sensor.read", to=group,
                                                  timeout=2):
                    if answer.ok:
                        print(f"{answer.name}: load "
                              f"{answer.result['load']:.2f}", flush=True)
                    else:
                        print(f"{answer.name}: {answer.error}", flush=True)
            except peerd.NotFound:
                print("no sensor in the group yet", flush=True)
            await node.publish(f"{group}.alert", f"{me} is here")
            await asyncio.sleep(1)
    return 0


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: lan_group.py GROUP [ROUNDS]")
    try:
        sys.exit(asyncio.run(main(sys.argv[1],
                                  int(sys.argv[2]) if len(sys.argv) == 3
                                  else 1_000_000)))
    except KeyboardInterrupt:
        pass
    except peerd.PeerError as e:
        sys.exit(f"lan_group: {e}")
