"""Row independence: a firm's criteria, tiers and firms rows do not depend on which other firms
share the call. The API micro-batches concurrent what-if requests into one ``assess`` call, so a
batch of 1, 7 or 32 rows must give exactly what the whole frame gives (seeded random firms)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tests.unit.rules.conftest import AS_OF, BASE, frame
from tiering.engine import assess

N = 240
_MONEY = [k for k, v in BASE.items() if isinstance(v, float)]
_FLAGS = [k for k, v in BASE.items() if isinstance(v, bool)]


def _firms(seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(N):
        r: dict = {}
        for k in _MONEY:
            u = rng.random()
            r[k] = None if u < 0.05 else round(BASE[k] * float(rng.uniform(0.0, 2.5)), 2)
        for k in _FLAGS:
            u = rng.random()
            r[k] = None if u < 0.05 else bool(u < 0.5)
        r["employees_y1"] = int(rng.integers(1, 1500))
        r["class1_ip"] = int(rng.integers(0, 4))
        r["industry"] = str(rng.choice(["3973", "6513", "1311", "9999", "3911"]))
        rows.append(r)
    return frame(*rows)


KEYS = {"criteria": ["uscc", "pack", "criterion_id"], "tiers": ["uscc", "pack"], "firms": ["uscc"]}


@pytest.mark.parametrize("chunk", [1, 7, 32])
def test_batch_composition_does_not_change_results(chunk: int) -> None:
    f = _firms(seed=chunk)
    whole = assess(f, AS_OF)
    # a handful of batches (singles are slow-ish): the first rows in batches of ``chunk``
    parts = [assess(f.slice(i, chunk), AS_OF) for i in range(0, min(N, 4 * chunk), chunk)]
    n = min(N, 4 * chunk)
    for name, keys in KEYS.items():
        got = pl.concat([getattr(p, name) for p in parts]).sort(keys)
        want = getattr(whole, name).filter(pl.col("uscc").is_in(f["uscc"][:n].implode())).sort(keys)
        assert got.height == want.height > 0
        # statuses, verdicts, points, texts and flags exactly; explanation floats (value,
        # threshold, gap) to 1e-12 relative: polars may sum a 1-row frame in another order
        # (last-bit differences seen in CH-2's value), which no edge can observe (tol 1e-9)
        assert_frame_equal(got, want, rel_tol=1e-12, abs_tol=0.0)
        floats = [c for c, t in got.schema.items() if t == pl.Float64]
        assert got.drop(floats).equals(want.drop(floats)), name
    # the whole-frame result is itself non-trivial (several verdicts occur)
    assert whole.tiers["verdict"].n_unique() >= 2
