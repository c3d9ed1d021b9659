#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""python_bench.py: the Python client (python/) beside the C client
(libpeer) on the same path, client -> peerd a -> peerd b -> service and
back, with 64 B echo calls, measured in the same run: latency with one
call in flight (p50, p99) and throughput with 64 in flight from one
process (calls/s).  The services on b are a C one
(build/examples/echo_server) and a Python one served with the package's
decorator, as a plain function and as a coroutine function; the C
client is call_bench -C.  See bench/README.md.

    bench/python_bench.py [-qv] [-n runs] [-t seconds]
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

import peerd  # noqa: E402

SIZE = 64                       # payload bytes
DEPTH = 64                      # calls in flight when pipelined
LAT_CALLS = 2000                # latency calls a chunk (-q: a tenth)
CALL_TIMEOUT = 20.0             # seconds, each call
STALL = 60.0                    # seconds for a chunk or a run to end
START_SECS = 15.0               # for the daemons and the services
GOAL_P50_X = 1.3                # Python p50 at most this x the C client's
GOAL_CALLS_S = 25_000           # Python calls/s with DEPTH in flight
CLK_TCK = os.sysconf("SC_CLK_TCK")

# The services on b: (name, what the table calls it).
C_SERVICE = ("echo", "C service")
PY_SERVICES = [("pyecho", "Python service (def)"),
               ("pyecho-async", "Python service (async def)")]


def fail(msg: str) -> None:
    sys.exit(f"python_bench: {msg}")


def die_with_parent() -> None:
    """In a child before exec: SIGTERM when this program dies, however
    it dies (PR_SET_PDEATHSIG), as call_bench's children."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)       # PR_SET_PDEATHSIG
    os.setsid()                         # out of reach of a ^C


def proc_cpu(pid: int) -> float:
    """utime + stime of pid in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def query(sock: str, op: str, **keys: Any) -> Any:
    """One request on a connection of its own."""
    async def run() -> Any:
        node = await peerd.connect(sock, timeout=2, reconnect=False)
        try:
            return await node.request(op, wait=2, **keys)
        finally:
            await node.close()
    return asyncio.run(run())


def wait_until(cond: Callable[[], bool], secs: float, what: str) -> None:
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.02)
    fail(f"{what} not within {secs:g} s")


class Children:
    """The processes this program started, stopped at its end: apps
    first, then daemons; SIGTERM, SIGKILL after 5 s."""

    def __init__(self) -> None:
        self.procs: list[tuple[str, subprocess.Popen[bytes], Path | None]] \
            = []

    def start(self, what: str, argv: list[str], log: Path | None,
              stdout: int | None = None) -> subprocess.Popen[bytes]:
        out = open(log, "ab") if log is not None else None
        try:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                 stdout=stdout if stdout is not None
                                 else out, stderr=out,
                                 preexec_fn=die_with_parent)
        finally:
            if out is not None:
                out.close()
        self.procs.append((what, p, log))
        return p

    def check(self) -> None:
        """Ends the program if a child has died, with its log's end."""
        for what, p, log in self.procs:
            if p.poll() is not None:
                tail = log.read_text(errors="replace")[-2000:] \
                    if log is not None and log.exists() else ""
                fail(f"{what} exited with status {p.returncode}\n{tail}")

    def stop(self) -> None:
        for _, p, _ in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for _, p, _ in reversed(self.procs):
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


class Daemon:
    def __init__(self, base: Path, name: str, key: bytes,
                 conf: Path) -> None:
        self.name = name
        self.dir = base / name
        self.state = self.dir / "state"
        self.sock = str(self.dir / "peerd.sock")
        self.log = self.dir / "peerd.log"
        self.conf = conf
        self.state.mkdir(parents=True, mode=0o700)
        keyfile = self.state / "network.key"
        keyfile.write_bytes(key)
        keyfile.chmod(0o600)
        self.pid = 0

    def start(self, children: Children, peerd_bin: str,
              bootstrap: "Daemon | None" = None) -> None:
        argv = [peerd_bin, "--state-dir", str(self.state), "-S", self.sock,
                "--listen", "127.0.0.1:0", "-o", "discovery=no",
                "--name", self.name, "-c", str(self.conf)]
        if bootstrap is not None:
            argv += ["-b", f"127.0.0.1:{bootstrap.port()}"]
        self.pid = children.start(f"peerd {self.name}", argv, self.log).pid

        def answers() -> bool:
            children.check()
            try:
                query(self.sock, "hello", protocol=1)
            except peerd.PeerError:
                return False
            return True
        wait_until(answers, START_SECS, f"peerd {self.name} answering")

    def port(self) -> int:
        listen = query(self.sock, "status")["listen"][0]
        return int(listen.rsplit(":", 1)[1])


# -- the payload -------------------------------------------------------------

PATTERN = os.urandom(SIZE)


def payload(seq: int) -> bytes:
    """PATTERN with seq in its first and last 8 bytes, as call_bench's:
    a lost, repeated or misplaced answer shows."""
    s = seq.to_bytes(8, "big")
    return s + PATTERN[8:-8] + s


# -- the Python service (a process of its own: --serve) ----------------------

def serve_sync(node: peerd.Node, name: str) -> None:
    @node.service(name)
    def echo(x: Any) -> Any:
        return x


def serve_async(node: peerd.Node, name: str) -> None:
    @node.service(name)
    async def echo(x: Any) -> Any:
        return x


async def serve(sock: str) -> None:
    node = await peerd.connect(sock)
    serve_sync(node, PY_SERVICES[0][0])
    serve_async(node, PY_SERVICES[1][0])
    print("ready", flush=True)
    await node.serve_forever()


# -- the Python client -------------------------------------------------------

async def py_latency(node: peerd.Node, service: str, n: int) -> list[float]:
    """n calls one after the other; their round trips in us."""
    rtt = []
    method = f"{service}.echo"
    for seq in range(n):
        p = payload(seq)
        t0 = time.perf_counter()
        r = await node.call(method, p, timeout=CALL_TIMEOUT)
        t1 = time.perf_counter()
        if r != p:
            fail(f"Python -> {service}: answer {seq} arrived corrupted")
        rtt.append((t1 - t0) * 1e6)
    return rtt


async def py_throughput(node: peerd.Node, service: str,
                        secs: float) -> tuple[int, float, float]:
    """DEPTH calls in flight for secs: calls, seconds from the first
    call to the last answer, CPU seconds this process spent."""
    method = f"{service}.echo"
    loop = asyncio.get_running_loop()
    end = loop.time() + secs
    done = 0
    last = 0.0

    async def caller(seq: int) -> None:
        nonlocal done, last
        while loop.time() < end:
            p = payload(seq)
            if await node.call(method, p, timeout=CALL_TIMEOUT) != p:
                fail(f"Python -> {service}: answer {seq} arrived "
                     "corrupted")
            done += 1
            seq += DEPTH
        last = time.perf_counter()

    cpu0 = time.process_time()
    t0 = time.perf_counter()
    await asyncio.gather(*(caller(k) for k in range(DEPTH)))
    return done, last - t0, time.process_time() - cpu0


# -- the measurement ---------------------------------------------------------

@dataclass
class Row:
    client: str                 # "C" or "Python"
    service: str
    label: str
    rtt: list[float] = field(default_factory=list)
    best: float = 0.0           # calls/s
    p50: float = 0.0            # us, once reported

    @property
    def name(self) -> str:
        return f"{self.client} client -> {self.label}"


def pct(sorted_rtt: list[float], p: float) -> float:
    """The p-th percentile, nearest rank, as call_bench's."""
    k = max(0, min(len(sorted_rtt) - 1,
                   -(-len(sorted_rtt) * p // 100) - 1))
    return sorted_rtt[int(k)]


def c_round(args: argparse.Namespace, sock: str, path: Row,
            children: Children) -> None:
    """One latency chunk and one throughput run of the C client."""
    argv = [args.call_bench, "-C", sock, "-S", path.service,
            "-s", str(SIZE), "-n", "1", "-t", f"{args.t:g}"]
    if args.q:
        argv.append("-q")
    try:
        r = subprocess.run(argv, capture_output=True, text=True,
                           timeout=STALL, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        children.check()
        fail(f"{path.name}: call_bench took more than {STALL:g} s")
    if r.returncode != 0:
        children.check()
        fail(f"{path.name}: call_bench: {r.stderr.strip()}")
    rtt: list[float] = []
    rate = 0.0
    for line in r.stdout.splitlines():
        key, _, rest = line.partition(" ")
        if key == "rtt_us":
            rtt = [float(x) for x in rest.split()]
        elif key == "calls_s":
            rate = float(rest)
    if not rtt or rate <= 0:
        fail(f"{path.name}: call_bench said {r.stdout[:200]!r}")
    path.rtt += rtt
    path.best = max(path.best, rate)
    if args.v:
        print(f"  {path.name:42} chunk p50 {pct(sorted(rtt), 50):6.0f} us,"
              f" {rate:8.0f} calls/s")


async def py_round(args: argparse.Namespace, node: peerd.Node, path: Row,
                   cpu_of: dict[str, int], children: Children) -> None:
    """One latency chunk and one throughput run of the Python client."""
    n = LAT_CALLS // 10 if args.q else LAT_CALLS
    await asyncio.wait_for(py_latency(node, path.service, max(5, n // 10)),
                           STALL)
    rtt = await asyncio.wait_for(py_latency(node, path.service, n), STALL)
    path.rtt += rtt
    before = {k: proc_cpu(pid) for k, pid in cpu_of.items()}
    calls, secs, cpu = await asyncio.wait_for(
        py_throughput(node, path.service, args.t), STALL)
    children.check()
    rate = calls / secs
    path.best = max(path.best, rate)
    if args.v:
        spent = {k: proc_cpu(pid) - before[k] for k, pid in cpu_of.items()}
        each = ", ".join(f"{k} {v * 1e6 / calls:.1f}"
                         for k, v in spent.items())
        print(f"  {path.name:42} chunk p50 {pct(sorted(rtt), 50):6.0f} us,"
              f" {rate:8.0f} calls/s; CPU us a call: client "
              f"{cpu * 1e6 / calls:.1f}, {each}")


def measure(args: argparse.Namespace, a: Daemon, b: Daemon, echo_pid: int,
            py_pid: int, children: Children) -> list[Row]:
    services = [C_SERVICE, *PY_SERVICES]
    paths = [Row(client, svc, label) for svc, label in services
             for client in ("C", "Python")]

    async def run() -> None:
        node = await peerd.connect(a.sock, reconnect=False)
        try:
            for r in range(args.n):
                for path in paths:
                    if path.client == "C":
                        # A blocking wait: nothing else runs meanwhile.
                        c_round(args, a.sock, path, children)
                        continue
                    server = echo_pid if path.service == C_SERVICE[0] \
                        else py_pid
                    await py_round(args, node, path, {
                        "peerd a": a.pid, "peerd b": b.pid,
                        "service": server}, children)
        finally:
            await node.close()
    asyncio.run(run())
    return paths


def report(args: argparse.Namespace, paths: list[Row]) -> None:
    n = (LAT_CALLS // 10 if args.q else LAT_CALLS) * args.n
    print(f"\nlatency: 1 call in flight, p50/p99 in us over {n} calls in "
          f"{args.n} chunk{'s' if args.n > 1 else ''} a path;\n"
          f"throughput: {DEPTH} in flight from one process, best of "
          f"{args.n} run{'s' if args.n > 1 else ''} of {args.t:g} s; "
          "x C = p50 over the C client's on the same path\n")
    print(f"{'path':44} {'p50 us':>7} {'p99 us':>7} {'calls/s':>9} "
          f"{'x C':>6}")
    c_row: dict[str, Row] = {}
    goals = []
    for path in paths:
        s = sorted(path.rtt)
        p50 = pct(s, 50)
        x = "-"
        if path.client == "C":
            c_row[path.service] = path
            path.p50 = p50
        else:
            # Judged as shown, to two places.
            ratio = round(p50 / c_row[path.service].p50, 2)
            x = f"{ratio:.2f}"
            goals.append((path, ratio, c_row[path.service]))
        print(f"{path.name:44} {p50:7.0f} {pct(s, 99):7.0f} "
              f"{path.best:9.0f} {x:>6}")
    print(f"\ngoals (the Python client): p50 <= {GOAL_P50_X} x the C "
          f"client's on the same path;\n>= {GOAL_CALLS_S} calls/s with "
          f"{DEPTH} in flight, to the C service (a Python service bounds "
          "the rate\nof any client: the C client's is shown beside it)")
    for path, ratio, c in goals:
        p50_met = "met" if ratio <= GOAL_P50_X else "not met"
        if path.service == C_SERVICE[0]:
            rate = (f"{path.best:.0f} calls/s: "
                    f"{'met' if path.best >= GOAL_CALLS_S else 'not met'}")
        else:
            rate = (f"{path.best:.0f} calls/s, the C client "
                    f"{c.best:.0f} ({path.best / c.best:.2f} x)")
        print(f"  {path.label + ':':28} p50 {ratio:.2f} x C: {p50_met}; "
              f"{rate}")
    print("  (for reference, the Python libraries peerd replaces ran this "
          "echo on the\n  build machine at p50 271-2157 us and "
          "1.2k-6.1k calls/s)")


def main() -> None:
    ap = argparse.ArgumentParser(
        description="The Python client beside the C client, 64 B echo "
        "calls through two daemons (bench/README.md).")
    ap.add_argument("-n", type=int, default=2, metavar="runs",
                    help="rounds: a latency chunk and a throughput run "
                    "of each path, alternating (default 2)")
    ap.add_argument("-t", type=float, default=1.0, metavar="seconds",
                    help="length of a throughput run (default 1)")
    ap.add_argument("-q", action="store_true",
                    help="quick: a tenth of the latency calls, one round "
                    "of 0.25 s (unless -n or -t say otherwise)")
    ap.add_argument("-v", action="store_true",
                    help="each chunk and run, with the CPU a call costs")
    ap.add_argument("--serve", metavar="SOCKET", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve))
        return
    if args.q:
        if "-n" not in sys.argv[1:]:
            args.n = 1
        if "-t" not in sys.argv[1:]:
            args.t = 0.25
    if not 1 <= args.n <= 20 or not 0.05 <= args.t <= 3600:
        ap.error("-n: 1 to 20; -t: 0.05 to 3600 seconds")
    build = ROOT / "build"
    peerd_bin = os.environ.get("PEERD", str(build / "peerd"))
    echo_bin = os.environ.get("ECHO_SERVER",
                              str(build / "examples" / "echo_server"))
    args.call_bench = os.environ.get("CALL_BENCH",
                                     str(build / "bench" / "call_bench"))
    for b in (peerd_bin, echo_bin, args.call_bench):
        if not os.access(b, os.X_OK):
            fail(f"{b}: not built (make bench builds it; PEERD, "
                 "ECHO_SERVER, CALL_BENCH say where)")

    # SIGTERM and SIGHUP end the program as ^C does: children stopped.
    def on_signal(sig: int, _: Any) -> None:
        raise SystemExit(f"python_bench: signal {sig}")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    base = Path(tempfile.mkdtemp(prefix="python_bench."))
    children = Children()
    try:
        conf = base / "peerd.conf"
        conf.write_text("")
        key = os.urandom(32)
        a = Daemon(base, "a", key, conf)
        b = Daemon(base, "b", key, conf)
        a.start(children, peerd_bin)
        b.start(children, peerd_bin, bootstrap=a)
        echo = children.start("echo_server", [echo_bin, "-s", b.sock, "-n",
                                              C_SERVICE[0]],
                              base / "echo_server.log",
                              stdout=subprocess.PIPE)
        py = children.start("the Python service",
                            [sys.executable, __file__, "--serve", b.sock],
                            base / "pyecho.log", stdout=subprocess.PIPE)
        for p, what in ((echo, "echo_server"), (py, "the Python service")):
            assert p.stdout is not None
            line = p.stdout.readline()  # ready, or the end: it exited
            if line.strip() != b"ready":
                children.check()
                fail(f"{what} said {line!r}")

        def listed(service: str) -> Callable[[], bool]:
            def cond() -> bool:
                children.check()
                r = query(a.sock, "services", service=service)
                return len(r["services"]) == 1
            return cond
        for svc, _ in (C_SERVICE, *PY_SERVICES):
            wait_until(listed(svc), START_SECS, f"service {svc} at a")

        print("python_bench: echo calls of 64 B, client -> peerd a -> "
              "peerd b -> service and back,\nmeasured in the same run; "
              "C client: call_bench -C, Python client: python/ on "
              f"asyncio\n(Python {sys.version.split()[0]}, "
              f"{os.cpu_count()} CPUs)", flush=True)
        paths = measure(args, a, b, echo.pid, py.pid, children)
        report(args, paths)
    finally:
        children.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
