"""Turn the loop's per-year chunks into the seven contract tables (data_contracts.tables).

Why a separate step: the loop works on integer firm indices (cheap joins, small memory); the
contract wants the USCC key, the contract column order and dtypes, and a stable row order (firm,
then year) so the same seed gives byte-identical files.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from data_contracts.tables import TABLES
from tiering.simulate.city import City

__all__ = ["assemble", "conform"]


def conform(df: pl.DataFrame, table: str) -> pl.DataFrame:
    """Select the contract columns of ``table`` in order, cast to the contract dtypes."""
    spec = TABLES[table]
    if df.is_empty() and any(c.name not in df.columns for c in spec.columns):
        # a tiny city can have no rows of a table at all (no IP filed in any year)
        return pl.DataFrame(schema={c.name: c.dtype for c in spec.columns})
    return df.select([pl.col(c.name).cast(c.dtype) for c in spec.columns])


def _with_uscc(df: pl.DataFrame, uscc: pl.Series, sort: list[str]) -> pl.DataFrame:
    if df.is_empty():
        return df
    df = df.sort(sort)
    return df.with_columns(uscc=uscc.gather(df["fi"]))


def firms_table(city: City) -> pl.DataFrame:
    """The register as of the end of the window: one row per firm ever active in it."""
    p = city.pop
    status = np.where(np.isnat(city.closed), "active", city.exit_kind).astype(str)
    df = pl.DataFrame(
        {
            "uscc": p.uscc,
            "name": p.name,
            "established": p.established,
            "closed": city.closed,
            "status": status,
            "district": p.district,
            "street": p.street,
            "zone": pl.Series(
                [z if isinstance(z, str) else None for z in p.zone.tolist()], dtype=pl.String
            ),
            "industry": p.industry,
            "registered_capital": p.registered_capital,
            "resident": p.resident,
        }
    )
    return conform(df, "firms")


def assemble(city: City, recognitions: pl.DataFrame | None = None) -> dict[str, pl.DataFrame]:
    """The seven tables, keyed by USCC, in contract column order (consumes ``city.chunks``)."""
    uscc = pl.Series("uscc", city.pop.uscc)
    out = {"firms": firms_table(city)}
    for name in ("financials", "ip", "credentials", "stats_roster"):
        out[name] = conform(_with_uscc(city.table(name), uscc, ["fi", "year"]), name)
        city.chunks[name] = []  # free the loop's copy before the next table (peak memory)
    ev = city.table("events")
    if ev.is_empty():
        ev = pl.DataFrame(
            schema={"fi": pl.UInt32, "kind": pl.String, "date": pl.Date, "end_date": pl.Date}
        )
    ev = (
        _with_uscc(ev, uscc, ["date", "fi", "kind"])
        if not ev.is_empty()
        else ev.with_columns(uscc=pl.lit(None, pl.String))
    )
    ev = ev.with_columns(
        event_id=pl.format(
            "EV{}{}",
            pl.col("date").dt.year(),
            (pl.int_range(pl.len()) + 1).cast(pl.String).str.zfill(8),
        )
    )
    out["events"] = conform(ev, "events")
    if recognitions is None or recognitions.is_empty():
        rec = pl.DataFrame(schema={c.name: c.dtype for c in TABLES["recognitions"].columns})
    else:
        rec = _with_uscc(recognitions, uscc, ["fi", "tier", "granted"])
    out["recognitions"] = conform(rec, "recognitions")
    return {t: out[t] for t in TABLES}
