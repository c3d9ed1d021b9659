#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""board.py: a mesh with broadcast and a shared dictionary.  Each host
that runs it puts itself on a shared board (the replicated key-value
store: every node sees the same entries), says hello to every other
host by an event, prints what the others say, and takes itself off the
board when it stops:

    python3 board.py NAME [SECONDS]

SECONDS (default: until interrupted) bounds how long it listens."""

import sys
import threading
import time

import peerd


def main() -> int:
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: board.py NAME [SECONDS]")
    name = sys.argv[1]
    seconds = float(sys.argv[2]) if len(sys.argv) == 3 else None
    with peerd.connect_sync() as node:
        board = node.kv                     # a dict shared by the mesh
        board[f"board/{name}"] = {"host": node.info["name"],
                                  "since": int(time.time())}
        print("on the board:", sorted(k for k, _ in board.items("board/")),
              flush=True)
        with node.subscribe("board.*") as sub:
            node.publish("board.hello", {"from": name})
            timer = threading.Timer(seconds or 0, sub.close)
            if seconds is not None:
                timer.start()
            try:
                for ev in sub:
                    # Anyone may publish on board.*: only a board's
                    # events, with a sender, and not our own.
                    sender = ev.data.get("from") \
                        if isinstance(ev.data, dict) else None
                    if not isinstance(sender, str) or sender == name:
                        continue
                    print(f"{ev.topic} from {sender} (node {ev.name})",
                          flush=True)
                    if ev.topic == "board.hello":
                        node.publish("board.welcome", {"from": name})
            except KeyboardInterrupt:
                pass
            finally:
                timer.cancel()
        del board[f"board/{name}"]
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except peerd.PeerError as e:
        sys.exit(f"board: {e}")
