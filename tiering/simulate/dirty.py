"""``--dirty``: inject the defects real data exchanges carry, and list every one injected.

Why a ledger: the contracts (issue 4) must catch each kind; a test can only prove that if it
knows exactly which row of which table was spoiled and how. Each table row gets at most one
defect (disjoint draws), so a caught row maps to one kind. Row numbers in the ledger are 0-based
positions in the table *as written*.

Kinds: ``bad_uscc_check`` (a firm's code with a wrong 18th character, in the register and in all
its child rows), ``negative_money`` / ``missing_money`` (a money cell of financials), ``duplicate_firm``
(a second register row for the same USCC, half of them with conflicting values),
``unknown_industry`` (a 4-digit code that is not a GB/T 4754-2017 小类), ``future_date`` (an
establishment or event date after the simulated window), ``orphan_child`` (child rows whose valid
USCC is not in the register).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from tiering.codes import industries
from tiering.simulate.population import uscc_codes
from tiering.simulate.streams import stream
from tiering.uscc import ALPHABET

__all__ = ["INJECTED_SCHEMA", "KINDS", "MONEY_COLUMNS", "inject"]

KINDS = (
    "bad_uscc_check",
    "negative_money",
    "missing_money",
    "duplicate_firm",
    "unknown_industry",
    "future_date",
    "orphan_child",
)
MONEY_COLUMNS = (
    "revenue", "main_revenue", "total_costs", "total_assets", "total_liabilities",
    "rd_expense", "equity_financing",
)  # fmt: skip
INJECTED_SCHEMA = {
    "table": pl.String,
    "row": pl.Int64,
    "uscc": pl.String,
    "column": pl.String,
    "kind": pl.String,
}
_KEY = "__key"


def _count(rate: float, n: int) -> int:
    return 0 if n == 0 else min(n, max(1, round(rate * n)))


def inject(
    tables: dict[str, pl.DataFrame], rate: float, seed: int, last_year: int
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """Spoil about ``rate`` of the rows per kind; return (dirty tables, injected ledger)."""
    rng = stream(seed, "dirty")
    t = {
        k: v.with_columns(pl.int_range(pl.len()).cast(pl.Float64).alias(_KEY))
        for k, v in tables.items()
    }
    ledger: list[tuple[str, float, str, str, str]] = []
    firms = t["firms"]
    n_f = firms.height
    perm_f = rng.permutation(n_f)
    k = _count(rate, n_f)
    bad_rows, dup_rows, ind_rows, fut_rows = (perm_f[i * k : (i + 1) * k] for i in range(4))

    # bad_uscc_check: the firm's code gets the next alphabet character as its check char.
    old = firms["uscc"].gather(bad_rows)
    nxt = {c: ALPHABET[(i + 1) % len(ALPHABET)] for i, c in enumerate(ALPHABET)}
    new = pl.Series([u[:17] + nxt[u[17]] for u in old.to_list()], dtype=pl.String)
    mapping = dict(zip(old.to_list(), new.to_list(), strict=True))
    for name, df in t.items():
        hit = df["uscc"].is_in(old.implode())
        if hit.any():
            df = df.with_columns(pl.col("uscc").replace(mapping))
            for key, u in df.filter(hit).select(_KEY, "uscc").iter_rows():
                ledger.append((name, key, u, "uscc", "bad_uscc_check"))
            t[name] = df

    # unknown_industry and future establishment dates in the register.
    valid = set(industries()["code"].to_list())
    invalid = np.array([f"{i:04d}" for i in range(10000) if f"{i:04d}" not in valid])
    firms = t["firms"]
    codes = invalid[rng.integers(0, len(invalid), len(ind_rows))]
    if len(ind_rows):
        firms = firms.with_columns(
            firms["industry"].scatter(ind_rows, pl.Series(codes, dtype=pl.String))
        )
    fut = np.datetime64(f"{last_year + 1}-01-01") + rng.integers(1, 1000, len(fut_rows))
    est = (
        firms["established"].scatter(fut_rows, pl.Series(fut, dtype=pl.Date))
        if len(fut_rows)
        else firms["established"]
    )
    firms = firms.with_columns(established=est)
    for rows, col, kind in (
        (ind_rows, "industry", "unknown_industry"),
        (fut_rows, "established", "future_date"),
    ):
        for key, u in firms[rows].select(_KEY, "uscc").iter_rows():
            ledger.append(("firms", key, u, col, kind))

    # duplicate_firm: a second row right after the first; half with a conflicting capital.
    dups = firms[dup_rows].with_columns(pl.col(_KEY) + 0.5)
    conflict = pl.Series(rng.random(len(dup_rows)) < 0.5)
    dups = dups.with_columns(
        registered_capital=pl.when(conflict)
        .then(pl.col("registered_capital") * 2 + 1)
        .otherwise(pl.col("registered_capital"))
    )
    for key, u in dups.select(_KEY, "uscc").iter_rows():
        ledger.append(("firms", key, u, "uscc", "duplicate_firm"))
    t["firms"] = pl.concat([firms, dups]).sort(_KEY)

    # negative / missing money in financials (disjoint rows, random money column).
    fin = t["financials"]
    kf = _count(rate, fin.height)
    perm = rng.permutation(fin.height)
    for i, kind in enumerate(("negative_money", "missing_money")):
        rows = np.sort(perm[i * kf : (i + 1) * kf])
        cols = np.array(MONEY_COLUMNS)[rng.integers(0, len(MONEY_COLUMNS), len(rows))]
        for col in MONEY_COLUMNS:
            r = rows[cols == col]
            if not len(r):
                continue
            vals = fin[col].gather(r)
            repl = (
                -(vals.abs() + 1.0)
                if kind == "negative_money"
                else pl.Series([None] * len(r), dtype=pl.Float64)
            )
            fin = fin.with_columns(fin[col].scatter(r, repl))
            for key, u in fin[r].select(_KEY, "uscc").iter_rows():
                ledger.append(("financials", key, u, col, kind))
    t["financials"] = fin

    # future event dates.
    ev = t["events"]
    if ev.height:
        rows = rng.permutation(ev.height)[: _count(rate, ev.height)]
        fut = np.datetime64(f"{last_year + 1}-01-01") + rng.integers(1, 700, len(rows))
        ev = ev.with_columns(ev["date"].scatter(rows, pl.Series(fut, dtype=pl.Date)))
        for key, u in ev[rows].select(_KEY, "uscc").iter_rows():
            ledger.append(("events", key, u, "date", "future_date"))
        t["events"] = ev

    # orphan_child: copies of child rows under fresh valid codes that are not in the register.
    known = set(t["firms"]["uscc"].to_list())
    for name in ("financials", "ip", "credentials", "events"):
        df = t[name]
        if not df.height:
            continue
        rows = rng.permutation(df.height)[: _count(rate, df.height)]
        org = np.frombuffer(b"MA" + b"0" * 7, np.uint8).copy()
        stems = np.tile(org, (len(rows), 1))
        stems[:, 2:8] = np.frombuffer(ALPHABET.encode(), np.uint8)[
            rng.integers(0, len(ALPHABET), (len(rows), 6))
        ]
        stems[:, 8] = ord("0") + rng.integers(0, 10, len(rows))
        codes = uscc_codes(np.full(len(rows), "420100"), stems)
        codes = [c for c in codes if c not in known]
        orphans = df[rows[: len(codes)]].with_columns(
            uscc=pl.Series(codes, dtype=pl.String), **{_KEY: pl.col(_KEY) + 0.25}
        )
        if name == "events":
            orphans = orphans.with_columns(event_id=pl.col("event_id") + "X")
        for key, u in orphans.select(_KEY, "uscc").iter_rows():
            ledger.append((name, key, u, "uscc", "orphan_child"))
        t[name] = pl.concat([df, orphans]).sort(_KEY)

    led = pl.DataFrame(ledger, schema=["table", _KEY, "uscc", "column", "kind"], orient="row")
    out, parts = {}, []
    for name, df in t.items():
        df = df.with_row_index("row")
        pos = df.select(pl.lit(name).alias("table"), _KEY, pl.col("row").cast(pl.Int64))
        parts.append(led.join(pos, on=["table", _KEY], how="inner"))
        out[name] = df.drop("row", _KEY)
    injected = (
        pl.concat(parts)
        .select(list(INJECTED_SCHEMA))
        .cast(INJECTED_SCHEMA)
        .sort("table", "row", "kind")
    )
    return out, injected
