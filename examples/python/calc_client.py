#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""calc_client.py: uses the remote Calculator of calc_server.py through
a proxy, from a plain (synchronous) script:

    python3 calc_client.py [NODE]

NODE (a node name or ID prefix) picks the provider; without it the
daemon picks one."""

import sys

import peerd


def main() -> int:
    to = sys.argv[1] if len(sys.argv) > 1 else None
    with peerd.connect_sync() as node:
        calc = node.proxy("calc", timeout=2, to=to)
        print("2 + 3 =", calc.add(2, 3))
        calc.store(42)
        print("memory:", calc.recall())
        print("sqrt(2) =", calc.slow_sqrt(2))
        try:
            calc.divide(1, 0)
        except peerd.InvalidArgument as e:
            print("refused:", e.message, e.context)
        try:
            calc.no_such_method()
        except peerd.Unimplemented as e:
            print("no such method:", e.message)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except peerd.PeerError as e:
        sys.exit(f"calc_client: {e}")
