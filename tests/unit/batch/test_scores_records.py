"""``small_records`` (the what-if path's Python records) equals the batch's stored row, parsed."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from tiering.batch.scores import build_scores
from tiering.batch.scores_small import small_records
from tiering.store.publish import FIRM_FIELDS, firm_rows

AS_OF = dt.date(2025, 6, 30)
_JSON = ("verdicts", "probabilities", "learned_flags", "gaps", "reasons")


@pytest.fixture(scope="module")
def frame():
    from features.asof import assessment_frame
    from tiering.simulate import simulate

    return assessment_frame(simulate(150, seed=11, years=(2021, 2024)), AS_OF).collect()


def _predictions(frame: pl.DataFrame) -> pl.DataFrame:
    """Scorer-shaped output: probabilities (some null), learned flags, a reasons list."""
    n = frame.height
    p = [((i * 37) % 100) / 100 for i in range(n)]
    return pl.DataFrame(
        {
            "uscc": frame["uscc"],
            "p_innovative": p,
            "p_specialized": [None if i % 3 == 0 else x / 2 for i, x in enumerate(p)],
            "p_upsize": p[::-1],
            "upsize_learned": [x >= 0.5 for x in p[::-1]],
            "reasons": [
                [{"target": "upsize", "text": f"理由{i}"}] if i % 2 else [] for i in range(n)
            ],
        }
    )


def _batch(sub: pl.DataFrame, a, predictions) -> dict[str, dict]:
    scores, _ = build_scores(sub, a.criteria, a.tiers, a.firms, predictions)
    out = {}
    for r in firm_rows(scores, "what-if").iter_rows(named=True):
        out[r["uscc"]] = {
            k: json.loads(v) if k in _JSON and v is not None else v for k, v in r.items()
        }
    return out


@pytest.mark.parametrize("n", [1, 7, 64, None])
@pytest.mark.parametrize("with_models", [False, True])
def test_small_records_equal_the_batch_rows(frame, n, with_models):
    from tiering import engine

    sub = frame if n is None else frame.sample(n, seed=n)
    a = engine.assess(sub, AS_OF, application="new")
    predictions = _predictions(sub) if with_models else None
    records, crit = small_records(sub, a.criteria, a.tiers, a.firms, predictions, "what-if")
    expected = _batch(sub, a, predictions)
    fresh = engine.assess(sub, AS_OF, application="new")
    if hasattr(fresh, "table"):  # the numpy backend's column lists (lazy texts) give the same
        tables = [fresh.table(t) for t in ("criteria", "tiers", "firms")]
        assert small_records(sub, *tables, predictions, "what-if")[0] == records
    assert set(records) == set(expected) == set(sub["uscc"])
    for uscc, rec in records.items():
        assert list(rec) == list(FIRM_FIELDS) or set(rec) == set(FIRM_FIELDS)
        assert rec == expected[uscc], uscc
    # each firm's criteria in the engine's order, as the batch's uscc-sorted frame keeps them
    by_batch = {}
    for c in a.criteria.sort("uscc", maintain_order=True).to_dicts():
        by_batch.setdefault(c["uscc"], []).append(c)
    assert {u: crit.rows_of(u) for u in crit.rows_by_firm} == by_batch
    # the views' one-pass wording of those rows equals the row-dict path
    from api.views import describe_columns, describe_criteria

    for uscc, rec in records.items():
        rows = crit.rows_by_firm[uscc]
        assert describe_columns(crit.columns, rows, rec["gaps"]) == describe_criteria(
            by_batch[uscc], rec["gaps"]
        )


def test_small_records_cover_every_gap_wording(frame):
    """The fixture exercises the rules' own gap texts and the fallback wordings alike."""
    from tiering import engine

    a = engine.assess(frame, AS_OF, application="new")
    records, _ = small_records(frame, a.criteria, a.tiers, a.firms, None, "x")
    texts = [g["text"] for r in records.values() for g in r["gaps"] or ()]
    assert any(t.endswith("：数据缺失") for t in texts)
    assert any(t.endswith("：需人工核实") for t in texts)
    assert any("差 " in t for t in texts)
