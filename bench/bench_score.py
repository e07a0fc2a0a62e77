"""Bench: ``tiering score`` over 1,000,000 firms end to end (target <= 60 s, <= 8 GB peak).

Run: ``.venv/bin/python bench/bench_score.py [n_firms] [--gx off|sample] [--models] [--data DIR]``.
Builds a clean contract-typed batch with ``bench_validate.build_tables`` in a child process
(vectorised; its memory is not the run's), writes it as parquet to a temporary folder — or scores
``--data DIR`` (e.g. ``tiering simulate --firms 1000000 --out DIR``) — then times
``tiering.batch.run_batch`` exactly as the CLI runs it: read → validate → features → (models) →
rules → criteria streamed to the run folder → scores → candidate XLSX → manifest → publish to a
SQLite store. With ``--models`` the champions load in a background thread from the start (their
time hides in read/validate; ``models`` shows only what is left of it plus the scoring) and the
features stage also builds the history the models read. Prints per-stage seconds and the
process's peak RSS (the manifest's numbers), the publish time and the total. Printed numbers, not
a timed test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["main"]


def _write_tables(n_firms: int, data: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_validate import build_tables

    for name, df in build_tables(n_firms).items():
        df.write_parquet(data / f"{name}.parquet")


def main(argv: list[str] | None = None) -> dict:
    """Build the batch, run ``score`` once, print and return the timings."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n_firms", nargs="?", type=int, default=1_000_000)
    ap.add_argument("--gx", default="off", choices=("off", "sample", "full"))
    ap.add_argument("--models", action="store_true", help="score with registered champions")
    ap.add_argument("--data", type=Path, help="score this folder (e.g. `tiering simulate --out`)")
    ap.add_argument("--as-of", default=None, help="as-of date with --data (default 2026-06-30)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_validate import AS_OF

    from tiering.batch import run_batch
    from tiering.batch.manifest import peak_rss_mb
    from tiering.settings import Settings
    from tiering.store import Store

    with tempfile.TemporaryDirectory(prefix="bench-score-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        as_of = AS_OF if isinstance(AS_OF, dt.date) else dt.date.fromisoformat(AS_OF)
        if args.data is not None:
            data = args.data
            as_of = dt.date.fromisoformat(args.as_of or "2026-06-30")
            print(f"input batch: {data}")
        else:  # built in a child process so its memory does not count towards the run's peak
            data = root / "data"
            data.mkdir()
            ctx = multiprocessing.get_context("spawn")
            child = ctx.Process(target=_write_tables, args=(args.n_firms, data))
            child.start()
            child.join()
            if child.exitcode:
                raise SystemExit(f"building the input batch failed ({child.exitcode})")
            print(f"input batch: {args.n_firms:,} firms built in {time.perf_counter() - t0:.1f} s")
        store = Store(f"sqlite:///{root / 'store.db'}", settings=Settings(home=root))
        start, cpu0 = time.perf_counter(), time.process_time()
        result = run_batch(
            data,
            as_of,
            root / "runs",
            use_models=args.models,
            store=store,
            gx=args.gx,
            progress=False,
        )
        total, cpu = time.perf_counter() - start, time.process_time() - cpu0
        m = result.manifest
        print(f"{'stage':<10}{'seconds':>10}{'CPU s':>8}{'peak RSS MiB':>15}")
        for name, s in m["stages"].items():
            print(
                f"{name:<10}{s['seconds']:>10.2f}{s['cpu_seconds']:>8.1f}{s['peak_rss_mb']:>15,.0f}"
            )
        in_stages = sum(s["cpu_seconds"] for s in m["stages"].values())
        print(  # the publish's CPU: what the run used outside its stages
            f"{'publish':<10}{result.publish_seconds or 0:>10.2f}{cpu - in_stages:>8.1f}"
            f"{peak_rss_mb():>15,.0f}"
        )
        c = m["counts"]
        print(
            f"firms in {c['firms_in']:,} = quarantined {c['firms_quarantined']:,} + out of scope "
            f"{c['firms_out_of_scope']:,} + scored {c['scored']:,}; criteria rows {c['criteria_rows']:,}"
        )
        verdict = "OK" if total <= 60 and peak_rss_mb() <= 8192 else "OVER TARGET"
        print(
            f"score end to end: {total:.1f} s ({cpu:.0f} s of CPU), peak RSS {peak_rss_mb():,.0f} MiB "
            f"(target <= 60 s, <= 8192 MiB): {verdict}"
        )
        return {"seconds": total, "peak_rss_mb": peak_rss_mb(), "stages": m["stages"]}


if __name__ == "__main__":
    main()
