"""API load benchmark: one uvicorn worker on 127.0.0.1, loopback load, printed numbers.

Targets (issue #8): look-up >= 1,000 req/s with p99 <= 25 ms; what-if >= 300 req/s with p99 <= 50
ms; memory flat over a soak. The bench publishes a run in a temporary home (deleted afterwards
unless ``--keep``): by default ``api.testing``'s synthetic run (12 criteria a firm), with ``--run
city`` a simulated city scored by the batch (~52 criteria a firm, the production shape). It creates
one bureau and one station key, starts ``tiering serve`` as a child process bound to 127.0.0.1
only, drives it with an asyncio keep-alive HTTP/1.1 client (a few hundred lines of Python would
cost more CPU than the server under test, so the client speaks raw HTTP over ``asyncio`` streams;
``httpx`` is used for set-up and sanity checks), and stops the server. Every phase is bounded in
request count and time.

Each endpoint is driven twice. *max*: a closed loop over ``--concurrency`` connections, each sending
its next request when the last answer arrives — the most the worker serves, and what a request
costs it; its latency is queueing behind the other connections and is not a target. *@rate*: an
open loop sending at the target rate (1,000 look-ups/s, 300 what-ifs/s) for ``--rate-seconds``,
latency counted from each request's scheduled send time — the p99 a caller sees under that load,
which is what the targets are about (a closed loop would let a slow server slow its own client
down and hide its queue).

Each phase also prints the server's CPU time per request (all its threads): on a shared machine
the wall-clock rate mostly measures the neighbours, while CPU per request says what one free core
would serve. ``/healthz`` is measured first as the HTTP stack's own ceiling (uvicorn + FastAPI).

The client runs on uvloop (see ``_run``) and freezes its own heap (``gc.freeze``) before the
phases: this process imported the whole package and, with ``--run city``, scored a city, so a full
collection of its heap paused the client ~100 ms at a time, and those pauses were counted as the
server's latency (the p99 of the look-up at 1,000 req/s went from 65–120 ms to ~5 ms with the
same server).

    python -m bench.bench_api                # quick: ~1 min
    python -m bench.bench_api --soak         # + 5-minute memory soak
    python -m bench.bench_api --soak-seconds 60 --firms 50000
    python -m bench.bench_api --run city      # the production shape of a look-up
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["main"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Conn:
    """One keep-alive HTTP/1.1 connection speaking just enough HTTP for the bench."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> _Conn:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        return cls(r, w)

    async def request(self, raw: bytes) -> int:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


def _run(coro: Any) -> Any:
    """Run one phase of the load generator on uvloop (the server's own loop, installed with
    uvicorn): the instrument costs a third less CPU per request than on asyncio's own loop
    (25–28 against 38–43 µs for ``/healthz``, measured) and adds less scheduling delay of its
    own to the latencies it reports (the city look-up's p50 at 1,000 req/s: 1.1 against 1.3–1.6
    ms, same server)."""
    try:
        import uvloop
    except ImportError:  # not installed on Windows (pyproject): asyncio's loop measures too
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def _get(path: str, key: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {key}\r\n\r\n".encode()


def _post(path: str, key: str, body: dict) -> bytes:
    data = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    return head.encode() + data


async def _load(
    port: int, requests: list[bytes], concurrency: int, time_limit: float
) -> tuple[float, list[float], dict[int, int]]:
    """Send ``requests`` over ``concurrency`` connections; (elapsed, latencies s, status counts)."""
    queue = iter(requests)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    deadline = time.perf_counter() + time_limit

    async def worker() -> None:
        conn = await _Conn.open(port)
        try:
            for raw in queue:
                if time.perf_counter() > deadline:
                    break
                t0 = time.perf_counter()
                status = await conn.request(raw)
                latencies.append(time.perf_counter() - t0)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            conn.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start, latencies, statuses


async def _open_loop(
    port: int, requests: list[bytes], rate: float, connections: int
) -> tuple[float, list[float], dict[int, int]]:
    """Send ``requests`` at a fixed ``rate`` (open loop); latency counted from each request's
    *scheduled* time, so a slow server cannot hide its queue by slowing the client down
    (no coordinated omission). A request waits for a free keep-alive connection if all are busy.
    """
    idle: asyncio.Queue[_Conn] = asyncio.Queue()
    for _ in range(connections):
        idle.put_nowait(await _Conn.open(port))
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def one(raw: bytes, scheduled: float) -> None:
        conn = await idle.get()
        try:
            status = await conn.request(raw)
        finally:
            idle.put_nowait(conn)
        latencies.append(time.perf_counter() - scheduled)
        statuses[status] = statuses.get(status, 0) + 1

    tasks = []
    start = time.perf_counter()
    for i, raw in enumerate(requests):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(raw, scheduled)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    while not idle.empty():
        idle.get_nowait().close()
    return elapsed, latencies, statuses


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of the server process, all threads (for CPU per request)."""
    import psutil

    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


def _report(name: str, elapsed: float, lat: list[float], statuses: dict[int, int],
            rate_target: float, p99_target_ms: float, cpu: float | None = None) -> bool:  # fmt: skip
    lat_ms = sorted(x * 1000 for x in lat)
    rate = len(lat) / elapsed if elapsed else 0.0
    p50 = statistics.median(lat_ms) if lat_ms else float("nan")
    p99 = lat_ms[min(len(lat_ms) - 1, int(len(lat_ms) * 0.99))] if lat_ms else float("nan")
    ok = rate >= rate_target and p99 <= p99_target_ms and set(statuses) == {200}
    print(
        f"{name:<16} n={len(lat):>6}  {rate:8.0f} req/s  p50={p50:6.2f} ms  p99={p99:6.2f} ms  "
        f"status={statuses}  target >= {rate_target:.0f} req/s, p99 <= {p99_target_ms:.0f} ms: "
        f"{'PASS' if ok else 'FAIL'}"
    )
    if cpu is not None and lat:
        # independent of neighbours' load: what one free core could serve at this CPU cost
        per = cpu / len(lat)
        print(
            f"{'':<16} server CPU {per * 1e3:.2f} ms/request -> ~{1 / per:.0f} req/s per free core"
        )
    return ok


def _rss_mb(pid: int) -> float:
    import psutil

    return psutil.Process(pid).memory_info().rss / 2**20


def _whatif_body(uscc: str, rng: random.Random) -> dict:
    revenue = round(rng.uniform(500, 20000), 2)
    return {
        "uscc": uscc,
        "district": uscc[2:8],
        "industry": "3973",
        "status": "active",
        "resident": True,
        "employees_y1": rng.randint(20, 400),
        "revenue_y1": revenue,
        "revenue_y2": round(revenue / 1.1, 2),
        "revenue_y3": round(revenue / 1.2, 2),
        "main_revenue_y1": round(revenue * 0.9, 2),
        "main_revenue_y2": round(revenue * 0.85, 2),
        "main_revenue_y3": round(revenue * 0.8, 2),
        "total_assets_y1": round(revenue * 1.3, 2),
        "total_liabilities_y1": round(revenue * 0.6, 2),
        "net_profit_y1": round(revenue * 0.08, 2),
        "rd_expense_y1": round(revenue * 0.05, 2),
        "rd_expense_y2": round(revenue * 0.045, 2),
        "rd_staff_y1": rng.randint(2, 60),
        "class1_ip": rng.randint(0, 5),
        "class2_ip": rng.randint(0, 10),
        "niche_years": float(rng.randint(1, 12)),
        "digital_level": rng.randint(0, 4),
        "held_innovative": rng.random() < 0.5,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns 0 when every target is met."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--firms", type=int, default=20_000, help="firms in the served run")
    ap.add_argument(
        "--run",
        default="synthetic",
        choices=("synthetic", "city"),
        help="synthetic: api.testing's run (12 criteria a firm, the earlier numbers); city: a "
        "simulated city scored by the batch, rules only (~52 criteria a firm, as in production)",
    )
    ap.add_argument("--keep", action="store_true", help="keep the temporary home afterwards")
    ap.add_argument("--lookups", type=int, default=20_000, help="look-up requests (bounded)")
    ap.add_argument("--whatifs", type=int, default=3_000, help="what-if requests (bounded)")
    ap.add_argument("--concurrency", type=int, default=32, help="closed-loop connections")
    ap.add_argument("--rate-seconds", type=float, default=15.0, help="open-loop phase length")
    ap.add_argument("--connections", type=int, default=64, help="open-loop connection pool")
    ap.add_argument("--lookup-rate", type=float, default=1000.0, help="look-ups/s offered (target)")
    ap.add_argument("--whatif-rate", type=float, default=300.0, help="what-ifs/s offered (target)")
    ap.add_argument("--time-limit", type=float, default=60.0, help="seconds per phase, at most")
    ap.add_argument(
        "--only", choices=("look-up", "what-if"), help="drive one endpoint (no healthz, no soak)"
    )
    ap.add_argument("--soak", action="store_true", help="memory soak of 5 minutes")
    ap.add_argument("--soak-seconds", type=float, default=20.0, help="soak length without --soak")
    args = ap.parse_args(argv)
    soak_seconds = 300.0 if args.soak else args.soak_seconds

    home = Path(tempfile.mkdtemp(prefix="tiering-bench-api-"))
    try:
        return _set_up_and_measure(args, home, soak_seconds)
    finally:
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)


def _set_up_and_measure(args: argparse.Namespace, home: Path, soak_seconds: float) -> int:
    """Publish the served run into ``home``, create the keys, then serve and measure."""
    from api.testing import build_run
    from tiering.settings import Settings
    from tiering.store import Store

    env = {
        **os.environ,
        "TIERING_HOME": str(home),
        "TIERING_ENV": "development",
        "TIERING_API_RATE_LIMIT_PER_MINUTE": str(10**9),  # the bench measures throughput
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
    }
    settings = Settings(home=home, env="development")
    store = Store(settings=settings)
    store.upgrade()
    t0 = time.perf_counter()
    if args.run == "city":
        run_dir = _city_run(home, args.firms, store)
    else:
        run_dir = build_run(
            home / "runs" / "bench-run", n_firms=args.firms, seed=1, as_of=dt.date(2025, 6, 30)
        )
        store.publish_run(run_dir)
    _, bureau = store.create_principal("bureau", [], "bench bureau")
    import polars as pl

    firms = pl.read_parquet(run_dir / "scores.parquet", columns=["uscc", "district"])
    districts = sorted(firms["district"].drop_nulls().unique().to_list())
    _, station = store.create_principal("station", districts, "bench station")
    usccs = firms["uscc"].to_list()
    store.dispose()
    print(
        f"set-up: {args.run} run of {len(usccs):,} firms published in "
        f"{time.perf_counter() - t0:.1f} s ({home})"
    )
    return _serve_and_measure(args, home, env, bureau, station, usccs, soak_seconds)


def _city_run(home: Path, n_firms: int, store: Any) -> Path:
    """A simulated city scored by the batch (rules only) and published: the production shape
    (every firm's ~52 criteria, dictionary-coded columns, gaps worded by the rules)."""
    from tiering.batch.demo import DEMO_AS_OF, DEMO_YEARS
    from tiering.batch.run import run_batch
    from tiering.simulate import simulate_run
    from tiering.simulate.writer import write_city

    sim = simulate_run(n_firms, 1, DEMO_YEARS)
    write_city(sim.tables, home / "data", arguments=sim.arguments)
    result = run_batch(
        home / "data", DEMO_AS_OF, home / "runs", use_models=False, store=store, progress=False
    )
    return result.run_dir


def _serve_and_measure(
    args: argparse.Namespace,
    home: Path,
    env: dict[str, str],
    bureau: str,
    station: str,
    usccs: list[str],
    soak_seconds: float,
) -> int:
    """Start ``tiering serve`` on ``home``, drive it phase by phase, stop it; 0 if every target
    was met."""
    import httpx

    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tiering.cli.main",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    ok = True
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            print("server did not become ready")
            return 1
        ready = httpx.get(base + "/readyz").json()
        print(
            f"server pid {server.pid} on 127.0.0.1:{port}; ready={ready['ready']} rules={ready['rules']}"
        )
        rng = random.Random(7)
        # The load generator's own heap (the city run was scored in this process) must not pause
        # it: a full collection here took ~100 ms and showed up as the server's tail latency.
        gc.collect()
        gc.freeze()
        keys = (bureau, station)

        # warm-up (imports, caches, first what-if compiles the packs)
        _run(_load(port, [_get(f"/v1/firms/{u}", bureau) for u in usccs[:200]], 8, 30))
        _run(_load(port, [_post("/v1/assess", bureau, _whatif_body(usccs[0], rng))], 1, 60))

        # the HTTP stack's own ceiling (uvicorn + FastAPI, no auth, tiny body): context for the rest
        if args.only is None:
            base_reqs = [_get("/healthz", bureau) for _ in range(min(args.lookups, 5000))]
            cpu0 = _cpu_seconds(server.pid)
            elapsed, lat, st = _run(_load(port, base_reqs, args.concurrency, args.time_limit))
            _report("healthz", elapsed, lat, st, 0, float("inf"), _cpu_seconds(server.pid) - cpu0)

        def lookup(i: int) -> bytes:
            return _get(f"/v1/firms/{rng.choice(usccs)}", keys[i % 2])

        def whatif(i: int) -> bytes:
            return _post("/v1/assess", keys[i % 2], _whatif_body(rng.choice(usccs), rng))

        # each endpoint twice: saturated (closed loop: the most it serves, and its CPU cost), then
        # at the target rate (open loop: the latency a caller sees when that load arrives)
        for name, make, n, rate, p99 in (
            ("look-up", lookup, args.lookups, args.lookup_rate, 25.0),
            ("what-if", whatif, args.whatifs, args.whatif_rate, 50.0),
        ):
            if args.only not in (None, name):
                continue
            reqs = [make(i) for i in range(n)]
            cpu0 = _cpu_seconds(server.pid)
            elapsed, lat, st = _run(_load(port, reqs, args.concurrency, args.time_limit))
            cpu = _cpu_seconds(server.pid) - cpu0
            _report(f"{name} max", elapsed, lat, st, rate, float("inf"), cpu)
            reqs = [make(i) for i in range(int(rate * args.rate_seconds))]
            elapsed, lat, st = _run(_open_loop(port, reqs, rate, args.connections))
            # the verdict is against the target rate; another --*-rate measures, it does not pass
            target = 1000.0 if name == "look-up" else 300.0
            ok &= _report(f"{name} @{rate:.0f}/s", elapsed, lat, st, 0.97 * target, p99)

        if args.only is not None:  # one endpoint measured: no soak, no verdict on memory
            return 0 if ok else 1
        # memory soak: look-ups for soak_seconds, RSS sampled each chunk
        rss = [_rss_mb(server.pid)]
        end = time.perf_counter() + soak_seconds
        n = 0
        while time.perf_counter() < end:
            batch = [_get(f"/v1/firms/{rng.choice(usccs)}", keys[i % 2]) for i in range(2000)]
            _, lat, _ = _run(
                _load(port, batch, args.concurrency, max(1.0, end - time.perf_counter()))
            )
            n += len(lat)
            rss.append(_rss_mb(server.pid))
        half = len(rss) // 2
        growth = statistics.mean(rss[half:]) - statistics.mean(rss[1 : half + 1] or rss[:1])
        flat = growth < 0.05 * rss[0] + 20
        ok &= flat
        print(
            f"soak       {soak_seconds:.0f} s, {n} look-ups: RSS start {rss[0]:.0f} MB, max {max(rss):.0f} MB, "
            f"end {rss[-1]:.0f} MB, second-half growth {growth:+.1f} MB: {'FLAT' if flat else 'GROWING'}"
        )
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
