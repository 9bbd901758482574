"""Many people at once: N concurrent sessions speaking Streamlit's websocket protocol to a served app.

    .venv/bin/python benchmarks/bench_sessions.py --sessions 10000 --clients 1 5 10 [--think 5 10] [--processes 2]
        [--swap] [--write-docs]

Each client opens 概要 (a new session: connect, run the page), then acts until the time is up: switches to a random
page, or changes the 都道府県 filter on 概要 (a widget value sent as the browser sends it), waiting a think time
between actions (uniform in --think; 0 0 = none). Per action: p50 / p95 / max from sending to `script_finished`,
errors (an exception element in the page, a failed run, a lost connection), script runs per second over all
clients, the servers' peak RSS (every app process with its children, and the proxy) and the memory an idle open
session costs. ``--processes N`` (N > 1) serves the app as deployed: N `streamlit run serve.py` processes behind
Debian's haproxy running deploy/haproxy.cfg (TLS, sticky cookie, leastconn), the clients speaking through it.
``--swap`` serves a copy of the database and, halfway through the largest client count, loads a batch of new
consultations into it with the CLI (the atomic swap every process must follow). A trivial one-chart Streamlit page
served by the same machine in the same run is the yardstick for what one person feels (open-to-finished, 1 client).
Figures are printed, never asserted.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import contextlib
import random
import shutil
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

import run_all

ROOT = run_all.ROOT
sys.path.insert(0, str(ROOT))
from tests.support.processes import tree_rss_kb  # noqa: E402
from tests.support.proxy import HAPROXY, INSECURE, haproxy_config, self_signed  # noqa: E402
from tests.support.upload_files import consultation_file  # noqa: E402

SWAP_CONSULTATIONS = 1_000      # the batch --swap loads halfway through
FILTER_KEY = "flt_prefectures"
TRIVIAL_PAGE = '''import streamlit as st
import plotly.graph_objects as go
st.title("trivial")
st.plotly_chart(go.Figure(go.Bar(x=["a", "b", "c"], y=[1, 3, 2])))
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(script: Path, env: dict, port: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "streamlit", "run", str(script), "--server.address", "127.0.0.1",
           "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"the server on port {port} did not start")


@contextlib.contextmanager
def serving(script: Path, env: dict, processes: int, folder: Path):
    """Serve ``script`` and yield (websocket URL, pids to measure): one process on its port, or ``processes``
    behind haproxy as deploy/haproxy.cfg has it (on loopback, a self-signed certificate)."""
    env = {**env, "STREAMLIT_SERVER_COOKIE_SECRET": secrets.token_hex(32)}     # shared, as deploy/ asks
    ports = {f"app{i + 1}": free_port() for i in range(processes)}
    procs = []
    try:
        for port in ports.values():
            procs.append(start_server(script, env, port))
        if processes == 1:
            yield f"ws://localhost:{next(iter(ports.values()))}/_stcore/stream", [p.pid for p in procs]
            return
        proxy_port = free_port()
        cfg = folder / "haproxy.cfg"
        cfg.write_text(haproxy_config(proxy_port, ports, self_signed(folder)), encoding="utf-8")
        proxy = subprocess.Popen([HAPROXY, "-db", "-f", str(cfg)], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        procs.append(proxy)
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", proxy_port)) == 0:
                    break
            if proxy.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("haproxy did not start")
            time.sleep(0.2)
        yield f"wss://localhost:{proxy_port}/_stcore/stream", [p.pid for p in procs]
    finally:
        for p in procs:
            p.kill()
            p.wait()


def swap_batch(folder: Path) -> Path:
    """A file of SWAP_CONSULTATIONS new consultations (ids no generated programme uses)."""
    path = folder / "相談記録_追加.csv"
    path.write_bytes(consultation_file([
        [f"SWAP-{i:05d}", f"2025-{i % 12 + 1:02d}-{i % 28 + 1:02d}", f"架空工業{i}（架空）", "茨城県", "水戸市",
         "RPAの導入", "相談会"] for i in range(SWAP_CONSULTATIONS)]))
    return path


def load_midway(db: Path, batch: Path, delay: float, out: dict) -> None:
    time.sleep(delay)
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "etl", "load", "--db", str(db), str(batch)], cwd=ROOT,
                          capture_output=True, text=True)
    out["load_seconds"], out["load_rc"] = time.perf_counter() - t, done.returncode


class Session:
    """One browser tab, as far as the server can tell: a websocket, the pages it was told of, the widgets seen."""

    def __init__(self, url: str):
        self.url = url
        self.ws = None
        self.pages: dict[str, str] = {}          # page name → page_script_hash
        self.page_hash = ""
        self.filter_widget: tuple[str, list[str]] | None = None    # (widget id, options)

    async def connect(self) -> None:
        secure = self.url.startswith("wss://")
        origin = self.url.replace("wss://", "https://").replace("ws://", "http://").rsplit("/_stcore", 1)[0]
        self.ws = await websockets.connect(self.url, subprotocols=["streamlit"], max_size=None, origin=origin,
                                           open_timeout=60, ping_interval=None, ssl=INSECURE if secure else None)

    async def run(self, page_hash: str = "", widgets: list[tuple[str, list[str]]] | None = None) -> bool:
        """Rerun ``page_hash`` (with these multiselect values) and wait for script_finished; False on an error."""
        msg = BackMsg()
        msg.rerun_script.query_string = ""
        msg.rerun_script.page_script_hash = page_hash
        for widget_id, values in widgets or []:
            w = msg.rerun_script.widget_states.widgets.add()
            w.id = widget_id
            w.string_array_value.data.extend(values)
        await self.ws.send(msg.SerializeToString())
        ok = True
        while True:
            fwd = ForwardMsg()
            fwd.ParseFromString(await asyncio.wait_for(self.ws.recv(), timeout=300))
            kind = fwd.WhichOneof("type")
            if kind == "navigation":
                self.pages = {p.page_name: p.page_script_hash for p in fwd.navigation.app_pages}
            elif kind == "new_session":
                self.page_hash = fwd.new_session.page_script_hash
            elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                el = fwd.delta.new_element
                which = el.WhichOneof("type")
                if which == "exception":
                    ok = False
                elif which == "multiselect" and el.multiselect.id.endswith(FILTER_KEY):
                    self.filter_widget = (el.multiselect.id, list(el.multiselect.options))
            elif kind == "script_finished":
                # 0 = finished successfully; other values: a compile error, a rerun, a fragment
                return ok and fwd.script_finished in (ForwardMsg.FINISHED_SUCCESSFULLY,
                                                      ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


async def client(url: str, until: float, think: tuple[float, float], rng: random.Random, out: dict) -> None:
    s = Session(url)
    try:
        t = time.perf_counter()
        await s.connect()
        ok = await s.run()
        _record(out, "open", time.perf_counter() - t, ok)
        home = s.page_hash
        while time.perf_counter() < until:
            if think[1] > 0:
                await asyncio.sleep(rng.uniform(*think))
                if time.perf_counter() >= until:
                    break
            if s.filter_widget and s.page_hash == home and rng.random() < 0.5:
                widget_id, options = s.filter_widget
                choice = [rng.choice(options)] if options else []
                t = time.perf_counter()
                ok = await s.run(home, [(widget_id, choice)])
                _record(out, "filter change", time.perf_counter() - t, ok)
            else:
                name = rng.choice([n for n in s.pages if n != "データ取込"] or [""])
                s.page_hash = s.pages.get(name, "")
                s.filter_widget = None
                t = time.perf_counter()
                ok = await s.run(s.page_hash)
                _record(out, "page switch", time.perf_counter() - t, ok)
    except (OSError, asyncio.TimeoutError, websockets.WebSocketException) as e:
        out.setdefault("lost", []).append(type(e).__name__)
    finally:
        await s.close()


def _record(out: dict, action: str, seconds: float, ok: bool) -> None:
    out.setdefault(action, []).append(seconds)
    if not ok:
        out.setdefault("errors", []).append(action)


async def drive(url: str, clients: int, seconds: float, think: tuple[float, float], seed: int) -> dict:
    out: dict = {}
    until = time.perf_counter() + seconds
    start = time.perf_counter()
    await asyncio.gather(*(client(url, until, think, random.Random(seed + i), out) for i in range(clients)))
    out["elapsed"] = time.perf_counter() - start
    return out


async def idle_sessions(url: str, n: int) -> list[Session]:
    sessions = [Session(url) for _ in range(n)]
    for s in sessions:
        await s.connect()
        await s.run()
    return sessions


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def rss_kb(pids: list[int]) -> int:
    return sum(tree_rss_kb(pid) for pid in pids)


def sample_rss(pids: list[int], stop: list[bool], peak: list[int]) -> None:
    while not stop[0]:
        peak[0] = max(peak[0], rss_kb(pids))
        time.sleep(0.25)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=10_000, help="generated programme size (sessions)")
    ap.add_argument("--db", type=Path, help="serve this database instead of a generated one")
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 5, 10])
    ap.add_argument("--think", type=float, nargs=2, default=[0.0, 0.0], metavar=("MIN", "MAX"))
    ap.add_argument("--seconds", type=float, default=30.0, help="how long the clients act at each count")
    ap.add_argument("--idle", type=int, default=10, help="idle sessions opened to measure memory per session")
    ap.add_argument("--processes", type=int, default=1, help="app processes (more than 1: behind haproxy)")
    ap.add_argument("--swap", action="store_true", help="load a batch into a copy halfway through the largest count")
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args(argv)
    if args.processes > 1 and not os.access(HAPROXY, os.X_OK):
        ap.error(f"--processes {args.processes} needs {HAPROXY} (scripts/setup.sh --system installs haproxy)")
    source = args.db or run_all.database(args.sessions)
    work = Path(tempfile.mkdtemp(prefix="bench-sessions-"))
    db = source
    if args.swap:                       # the load writes a new file: never the cached or given database
        db = work / "data" / "dx.duckdb"
        db.parent.mkdir()
        shutil.copyfile(source, db)
    env = {**os.environ, "DX_DB_PATH": str(db)}
    think = (args.think[0], args.think[1])
    rows, notes = [], []
    try:
        return _run(args, source, db, env, think, rows, notes, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(args, source: Path, db: Path, env: dict, think: tuple[float, float], rows: list, notes: list,
         work: Path) -> int:

    with tempfile.TemporaryDirectory() as tmp:
        trivial = Path(tmp) / "trivial.py"
        trivial.write_text(TRIVIAL_PAGE, encoding="utf-8")
        port = free_port()
        proc = start_server(trivial, env, port)
        try:
            yard = asyncio.run(drive(f"ws://localhost:{port}/_stcore/stream", 1, 8.0, (0.0, 0.0), 0))
        finally:
            proc.kill()
            proc.wait()
    yard_open = pct(yard.get("open", []), 0.5)

    with serving(ROOT / "serve.py", env, args.processes, work) as (url, pids):
        for _ in range(args.processes):        # warm every process: imports, caches of the default view
            asyncio.run(drive(url, 1, 5.0, (0.0, 0.0), 99))
        base = rss_kb(pids)

        async def idle() -> int:
            sessions = await idle_sessions(url, args.idle)
            await asyncio.sleep(2)
            rss = rss_kb(pids)
            for s in sessions:
                await s.close()
            return rss
        idle_rss = asyncio.run(idle())
        per_idle_mb = (idle_rss - base) / 1024 / max(1, args.idle)
        one = None
        for n in args.clients:
            stop, peak = [False], [0]
            sampler = threading.Thread(target=sample_rss, args=(pids, stop, peak), daemon=True)
            sampler.start()
            swap: dict = {}
            loader = None
            if args.swap and n == max(args.clients):
                loader = threading.Thread(target=load_midway, args=(db, swap_batch(work), args.seconds / 2, swap))
                loader.start()
            res = asyncio.run(drive(url, n, args.seconds, think, 1000 * n))
            if loader is not None:
                loader.join()
            stop[0] = True
            sampler.join()
            runs = sum(len(res.get(a, [])) for a in ("open", "page switch", "filter change"))
            if n == args.clients[0]:
                one = res
            label = f"{n} + load" if loader is not None else n
            for action in ("open", "page switch", "filter change"):
                v = res.get(action, [])
                rows.append([label, action, len(v), run_all.fmt_s(pct(v, 0.5)), run_all.fmt_s(pct(v, 0.95)),
                             run_all.fmt_s(max(v) if v else None),
                             sum(1 for e in res.get("errors", []) if e == action),
                             f"{runs / res['elapsed']:.1f}", f"{peak[0] / 1024:,.0f}"])
            if res.get("lost"):
                notes.append(f"- {n} clients: {len(res['lost'])} connections lost ({', '.join(set(res['lost']))})")
            if loader is not None:
                notes.append(f"- {n} + load: {SWAP_CONSULTATIONS:,} new consultations loaded by `python -m etl load` "
                             f"after {args.seconds / 2:g} s, in {swap.get('load_seconds', 0):.1f} s "
                             f"(exit {swap.get('load_rc')}), while the sessions went on")

    opened = pct(one.get("open", []), 0.5) if one else None
    ratio = (opened / yard_open) if opened and yard_open else None
    body = "\n".join([
        f"Command: `{run_all.command_line()}`",
        "",
        *run_all.machine_lines(),
        f"- Database: {source} ({args.sessions:,} generated sessions)" if not args.db else f"- Database: {source}",
        f"- Think time between actions: {think[0]:g}–{think[1]:g} s; each client count acts for {args.seconds:g} s",
        "- Served by " + ("one `streamlit run serve.py` process" if args.processes == 1 else
                          f"{args.processes} `streamlit run serve.py` processes behind haproxy (deploy/haproxy.cfg, "
                          "TLS)"),
        "",
        run_all.table(["clients", "action", "n", "p50", "p95", "max", "errors", "script runs/s (all)",
                       "server peak RSS MB"], rows),
        "",
        f"- An idle open session costs {per_idle_mb:.1f} MB of server RSS ({args.idle} sessions opened on 概要, "
        f"{base / 1024:,.0f} MB before, {idle_rss / 1024:,.0f} MB with them)",
        f"- What one person feels: 概要 opened (new session to script finished) p50 {run_all.fmt_s(opened)} against "
        f"a trivial one-chart page {run_all.fmt_s(yard_open)} on the same machine"
        + (f" = {ratio:.1f}×" if ratio else ""),
        *notes,
    ])
    print(body)
    if args.write_docs:
        title = f"Sessions at once ({args.sessions:,} sessions)" if not args.db else "Sessions at once"
        title += f", think {think[0]:g}–{think[1]:g} s" if think[1] else ", no think time"
        key = "sessions" if think[1] == 0 else "sessions-think"
        if args.processes > 1:
            title += f", {args.processes} processes behind haproxy"
            key += f"-{args.processes}p"
        run_all.write_section(key, title, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
