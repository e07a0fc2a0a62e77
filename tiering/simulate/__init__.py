"""A seeded simulated Wuhan: the registry, tax, IP, credential, roster, event and recognition
history of ``n`` firms over a window of years, as the seven input tables of the data contract.

Why: no real enterprise data can ship, yet the demo, tests, benchmarks and the learned scorer need
a population that behaves like the city — heavy-tailed sizes, rare titles, firms that grow, shrink
and die, titles that expire and are reviewed, and unobserved factors (engagement, district service
coverage) that decide who applies, so a learned scorer has something to learn beyond the rules.
Same seed and arguments → identical tables (and byte-identical files).

>>> t = simulate(300, seed=1, years=(2022, 2023), recognitions=False)
>>> sorted(t) == sorted(["firms", "financials", "ip", "credentials", "recognitions",
...                      "stats_roster", "events"])
True
>>> t["firms"].height
300
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import polars as pl

__all__ = ["Simulation", "simulate", "simulate_run"]


@dataclass
class Simulation:
    """The seven tables, the defect ledger (``--dirty`` only), the run's arguments, and the
    seconds spent per stage (``timings``: for the bench only — never written, since files must
    be byte-identical across runs) and the recognition rounds' log (counts per round)."""

    tables: dict[str, pl.DataFrame]
    injected: pl.DataFrame | None
    arguments: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    rounds: list[dict[str, Any]] = field(default_factory=list)


def simulate_run(
    n_firms: int,
    seed: int,
    years: tuple[int, int] = (2019, 2025),
    *,
    dirty: float = 0.0,
    recognitions: bool = True,
) -> Simulation:
    """Simulate the city and (optionally) spoil it; see :func:`simulate`."""
    from tiering.simulate.assemble import assemble
    from tiering.simulate.city import run_city
    from tiering.simulate.dirty import inject
    from tiering.simulate.recognitions import RecognitionProcess

    first, last = int(years[0]), int(years[1])
    if n_firms < 1:
        raise ValueError(f"企业数须为正整数，收到 {n_firms}")
    if not 2000 <= first <= last <= 2100:
        raise ValueError(f"年份区间无效：{first}-{last}")
    if not 0.0 <= dirty <= 0.2:
        raise ValueError(f"--dirty 比例须在 0 到 0.2 之间，收到 {dirty}")
    process = RecognitionProcess(n_firms, seed, first, last) if recognitions else None
    t0 = time.perf_counter()
    city = run_city(n_firms, seed, first, last, recognition=process)
    if process is not None:
        process.release()
    t1 = time.perf_counter()
    tables = assemble(city, process.table() if process is not None else None)
    t2 = time.perf_counter()
    injected = None
    if dirty > 0:
        tables, injected = inject(tables, dirty, seed, last)
    rec = process.timings if process is not None else {}
    timings = {"city_loop": t1 - t0 - sum(rec.values()),
               **{f"rounds_{k}": v for k, v in rec.items()},
               "assemble": t2 - t1, "dirty": time.perf_counter() - t2}  # fmt: skip
    args = {"firms": n_firms, "seed": seed, "years": f"{first}-{last}", "dirty": dirty,
            "recognitions": recognitions}  # fmt: skip
    return Simulation(tables, injected, args, timings, process.log if process is not None else [])


def simulate(
    n_firms: int,
    seed: int,
    years: tuple[int, int] = (2019, 2025),
    *,
    dirty: float = 0.0,
    recognitions: bool = True,
) -> dict[str, pl.DataFrame]:
    """The seven input tables of a simulated Wuhan of ``n_firms`` firms over ``years`` (inclusive).

    ``recognitions=False`` skips the recognition rounds (no rule engine needed; no titles).
    ``dirty`` > 0 injects defects (see :mod:`tiering.simulate.dirty`); use :func:`simulate_run`
    to also get the ledger of what was injected.
    """
    return simulate_run(n_firms, seed, years, dirty=dirty, recognitions=recognitions).tables
