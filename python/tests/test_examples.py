# SPDX-License-Identifier: ISC
"""test_examples.py: the programs in examples/python run against two
daemons and do what their docstrings say."""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
from typing import Iterator

import pytest

import peerd

from conftest import ROOT, Daemon, Mesh, query, wait_until

EXAMPLES = ROOT / "examples" / "python"


class Program:
    """One example, started on a daemon, its output read line by line."""

    def __init__(self, d: Daemon, script: str, *args: str) -> None:
        env = dict(os.environ, PEERD_SOCKET=d.sock,
                   PYTHONPATH=str(ROOT / "python"))
        self.proc = subprocess.Popen(
            [sys.executable, str(EXAMPLES / script), *args], env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []

    def expect(self, text: str, seconds: float = 10) -> None:
        """Reads lines until one contains text; fails after seconds."""
        assert self.proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        end = time.monotonic() + seconds
        while not any(text in line for line in self.lines):
            left = end - time.monotonic()
            if left <= 0 or not sel.select(left):
                break
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line.rstrip("\n"))
        sel.close()
        assert any(text in line for line in self.lines), \
            f"no {text!r} in the output:\n" + "\n".join(self.lines)

    def finish(self, seconds: float = 15) -> int:
        out, _ = self.proc.communicate(timeout=seconds)
        self.lines += out.splitlines()
        return self.proc.returncode

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class Programs:
    """The examples a test started; the fixture stops them at its end."""

    def __init__(self) -> None:
        self.started: list[Program] = []

    def start(self, d: Daemon, script: str, *args: str) -> Program:
        """Starts examples/python/script with args on d."""
        p = Program(d, script, *args)
        self.started.append(p)
        return p


@pytest.fixture
def programs() -> Iterator[Programs]:
    examples = Programs()
    yield examples
    for p in examples.started:
        p.stop()


def test_rpc_requests_notifications_typed_errors(
        mesh: Mesh, programs: Programs) -> None:
    server = programs.start(mesh.b, "rpc_server.py")
    server.expect("jobs served on b")
    mesh.wait_providers(mesh.a, "jobs", 1)
    client = programs.start(mesh.a, "rpc_client.py")
    assert client.finish() == 0, "\n".join(client.lines)
    out = "\n".join(client.lines)
    for want in ("submitted job 1", "status: running",
                 "not found: no job 999 {'jobs': 1}",
                 "invalid: no job kind 'deploy' {'kinds': ['build', 'test']}",
                 "deadline:", "wait: done",
                 "notification handed to 1 node(s)",
                 "the server has the note"):
        assert want in out, f"no {want!r} in:\n{out}"
    server.expect("note: deployed by rpc_client")


def test_lan_group_peers_call_each_other_and_hear_alerts(
        mesh: Mesh, programs: Programs) -> None:
    on_a = programs.start(mesh.a, "lan_group.py", "lab", "4")
    on_b = programs.start(mesh.b, "lan_group.py", "lab", "4")
    # Each hears the other's reading by call_all to the group, and the
    # other's alert by event.
    on_a.expect("b: load", 10)
    on_b.expect("a: load", 10)
    on_a.expect("alert from b: b is here", 10)
    on_b.expect("alert from a: a is here", 10)
    assert on_a.finish() == 0 and on_b.finish() == 0


def test_calc_remote_object_through_a_proxy(
        mesh: Mesh, programs: Programs) -> None:
    server = programs.start(mesh.b, "calc_server.py")
    server.expect("calc served on b")
    mesh.wait_providers(mesh.a, "calc", 1)
    client = programs.start(mesh.a, "calc_client.py", "b")
    assert client.finish() == 0, "\n".join(client.lines)
    assert client.lines == [
        "2 + 3 = 5", "memory: 42", "sqrt(2) = 1.4142135623730951",
        "refused: division by zero {'a': 1}",
        "no such method: service calc has no method 'no_such_method'"], client.lines


def test_board_shared_dictionary_and_broadcast(
        mesh: Mesh, programs: Programs) -> None:
    first = programs.start(mesh.a, "board.py", "ann", "8")
    first.expect("on the board: ['board/ann']")
    # ann's subscription has reached b once b's daemon lists it.
    wait_until(lambda: any(t["topic"] == "board.*" for t in
                           query(mesh.b.sock, "topics")["topics"]),
               5, "ann's subscription known at b")
    # Someone else's events on board.* are not a board's: ignored.
    query(mesh.b.sock, "publish", topic="board.noise", data=5)
    query(mesh.b.sock, "publish", topic="board.noise")
    second = programs.start(mesh.b, "board.py", "bob", "1")
    second.expect("on the board: ['board/ann', 'board/bob']")
    first.expect("board.hello from bob (node b)")
    assert second.finish() == 0, "\n".join(second.lines)
    first.stop()
    # bob took itself off the board; the board is shared: a sees it.
    def gone() -> bool:
        try:
            query(mesh.a.sock, "kv_get", key="board/bob")
        except peerd.NotFound:
            return True
        return False
    wait_until(gone, 5, "board/bob gone")
