"""The numpy formula evaluator (tiering.small) against the polars compiler (tiering.formula):
every construct of the formula language, with nulls, zeros and negatives, gives the same
values — including constructs no shipped pack uses yet. And an unsupported construct falls
back to the polars backend instead of changing a result."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from tests.unit.rules.conftest import AS_OF, frame
from tiering import engine, small
from tiering.engine_small import SmallAssessment
from tiering.formula import FormulaCompiler
from tiering.pack_model import Pack

COLUMNS = {"a": pl.Float64, "b": pl.Float64, "k": pl.Int64, "f": pl.Boolean, "g": pl.Boolean}
COLUMNS |= {"s": pl.String}
DF = pl.DataFrame(
    {
        "a": [1.0, -4.0, 0.0, None, 2.5, 9.0, 0.03],
        "b": [0.0, 2.0, 0.0, 1.0, None, 3.0, 1.0],
        "k": [1, 0, None, 3, 2, 5, 7],
        "f": [True, False, None, True, None, False, True],
        "g": [None, None, None, False, True, True, True],
        "s": ["x", None, "y", "x", "z", "x", None],
    },
    schema=COLUMNS,
)
FORMULAS = [
    "a + b * 2 - k",
    "a / b",
    "(a + 1) / (b - 1)",
    "sqrt(a)",
    "sqrt(a - b)",
    "abs(a - 3)",
    "floor(a * 10) / 10",
    "min(a, b)",
    "max(a, b, k)",
    "mean(a, b)",
    "sum(a, b, k)",
    "where(f, a, b)",
    "where(a > 1, k, b)",
    "where(g and f, 1, 0)",
    "a >= 0.03",
    "0 < a <= 2.5",
    "a == b",
    "a != b",
    "f and g",
    "f or g",
    "not f",
    "not (f and a > 0)",
    "(a > 0) or g",
    "s == 'x'",
    "s != 'x'",
    "Y - k",
    "p * a",
    "d + 1",
    "flagp and f",
]
PARAMS = {"p": 2.0, "flagp": True}
DERIVED = {"d": "a / (b + 1)"}


def _polars(src: str) -> list:
    fc = FormulaCompiler(COLUMNS, PARAMS, DERIVED, year=2026)
    return DF.select(r=fc.compile(src)).to_series().to_list()


def _numpy(src: str) -> list:
    pack = Pack.model_construct(parameters=PARAMS, derived=DERIVED)
    cols = {
        c: (DF[c].cast(pl.Float64).to_numpy().astype(float) if t != pl.String else DF[c].to_numpy())
        for c, t in COLUMNS.items()
    }
    cols["s"] = np.array(DF["s"].to_list(), dtype=object)
    out = small.Env(cols, DF.height, pack, 2026).formula(src)
    if out.dtype == object:
        return out.tolist()
    return [None if math.isnan(x) else x for x in out.tolist()]


@pytest.mark.parametrize("src", FORMULAS)
def test_numpy_formula_equals_polars(src: str) -> None:
    want = _polars(src)
    got = _numpy(src)
    norm = [None if w is None else (float(w) if not isinstance(w, str) else w) for w in want]
    assert len(got) == len(norm)
    for g, w in zip(got, norm, strict=True):
        if isinstance(w, float) and g is not None:
            assert g == pytest.approx(w, rel=1e-12, abs=0.0), (src, got, norm)
        else:
            assert g == w, (src, got, norm)


def test_unsupported_construct_falls_back_to_polars(monkeypatch: pytest.MonkeyPatch) -> None:
    f = frame({}, {"rd_expense_y1": 10.0})
    want = engine.assess(f, AS_OF)
    assert isinstance(want, SmallAssessment)

    def refuse(*_a: object, **_k: object) -> None:
        raise small.Unsupported("test")

    monkeypatch.setattr("tiering.engine_small.evaluate_pack", refuse)
    got = engine.assess(f, AS_OF)
    assert not isinstance(got, SmallAssessment)
    for name in ("criteria", "tiers", "firms", "dimensions"):
        assert getattr(got, name).equals(getattr(want, name)), name


def test_small_assessment_wide_is_the_polars_wide_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    f = frame({}, {"held_innovative": True, "innovative_expires": dt.date(2026, 9, 1)})
    a = engine.assess(f, AS_OF)
    assert isinstance(a, SmallAssessment)
    monkeypatch.setattr(engine, "SMALL_ROWS", 0)
    b = engine.assess(f, AS_OF)
    assert a.wide.equals(b.wide)
    # the long criteria frame derived from that wide frame equals the numpy-built one
    assert a.criteria_lazy().collect().equals(a.criteria)
