"""`make run` serves the dashboard on 127.0.0.1 only (there is no sign-in yet), and the page says so."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from monitor.ui import serving_notice

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for name, size in (("tcp", 8), ("tcp6", 32)):
        for line in Path(f"/proc/net/{name}").read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, p = local.split(":")
            if state == "0A" and int(p, 16) == port:
                found.add("0.0.0.0" if set(addr) == {"0"} and size == 8 else
                          "::" if set(addr) == {"0"} else
                          socket.inet_ntoa(bytes.fromhex(addr)[::-1]) if size == 8 else addr)
    return found


def test_make_run_listens_on_loopback_only(sample_db):
    port = _free_port()
    env = {**os.environ, "DX_DB_PATH": str(sample_db)}
    proc = subprocess.Popen(["make", "run", f"PORT={port}", f"DB={sample_db}"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            raise AssertionError("the app did not start")
        assert _listening(port) == {"127.0.0.1"}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_the_page_says_who_can_reach_it():
    assert "ローカル利用（サインインなし）" in serving_notice("127.0.0.1")
    assert "誰でも見られます" in serving_notice("")
