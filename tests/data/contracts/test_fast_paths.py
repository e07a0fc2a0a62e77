"""The fast row-check paths give exactly the verdicts of their plain references.

Why: the million-firm speed comes from three shortcuts (numpy USCC check, hash-then-exact
duplicate keys, anti join for big value sets); each must agree with the slow, obvious form on
any input — including nulls, lower case, padding, non-ASCII and illegal characters.
"""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data_contracts import rowcheck
from data_contracts.uscc_check import complete_codes, uscc_problems
from tiering.uscc import ALPHABET, complete, uscc_problem_expr

_stem = st.text(alphabet=ALPHABET, min_size=17, max_size=17)
_code = st.one_of(
    _stem.map(complete),  # valid
    _stem.map(lambda s: s + "0"),  # often a wrong check character
    _stem.map(lambda s: " " + complete(s).lower() + " "),  # padded, lower case: still valid
    st.text(alphabet=ALPHABET + "IOSVZ-中é ", min_size=0, max_size=20),
    st.none(),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_code, min_size=1, max_size=40))
def test_uscc_problems_matches_the_reference_expression(codes):
    s = pl.Series("u", codes, dtype=pl.String)
    want = pl.DataFrame({"u": s}).select(uscc_problem_expr("u").alias("p"))["p"]
    assert uscc_problems(s).to_list() == want.to_list()


def test_complete_codes_matches_complete():
    stems = [f"91420100{i:09d}" for i in range(500)] + ["9142010017785542a"]
    assert complete_codes(pl.Series(stems)).to_list() == [complete(x) for x in stems]
    with pytest.raises(ValueError, match="alphabet"):
        complete_codes(pl.Series(["9142010017785542I"]))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["A", "B", "C", None]), st.sampled_from([2023, 2024, None])),
        min_size=0,
        max_size=30,
    )
)
def test_duplicate_keys_match_struct_is_duplicated(rows):
    df = pl.DataFrame(rows, schema={"uscc": pl.String, "year": pl.Int64}, orient="row")
    got = rowcheck._duplicated(df, ["uscc", "year"]).to_list()
    assert got == df.select(pl.struct("uscc", "year").is_duplicated())["uscc"].to_list()
    one = rowcheck._duplicated(df, ["uscc"]).to_list()
    assert one == df["uscc"].is_duplicated().to_list()


def test_large_value_sets_flag_the_same_rows_as_small_ones(monkeypatch):
    firms = pl.Series([f"F{i}" for i in range(50)])
    df = pl.DataFrame({"uscc": ["F1", "X9", None, "F49", "X9", "Y"]})
    rule = {
        "type": "expect_column_values_to_be_in_set",
        "kwargs": {"column": "uscc", "value_set": {"$PARAMETER": "firm_usccs"}},
        "meta": {"id": "ref"},
    }
    small = rowcheck.failures(df, [rule], {"firm_usccs": firms.to_list()})
    monkeypatch.setattr(rowcheck, "LARGE_SET", 10)
    large = rowcheck.failures(df, [rule], {"firm_usccs": firms})
    assert small.equals(large) and small["row"].to_list() == [1, 4, 5]


def test_gx_sample_is_deterministic_ordered_and_holds_the_flagged_rows():
    from data_contracts.validate import _sample

    df = pl.DataFrame({"x": range(10_000)})
    flagged = pl.Series([5, 17, 9_999], dtype=pl.Int64)
    a, b = _sample(df, 100, flagged), _sample(df, 100, flagged)
    assert a.equals(b) and a.height == 100 and a["x"].n_unique() == 100
    assert a["x"].is_sorted() and {5, 17, 9_999} <= set(a["x"])
    many = _sample(df, 100, pl.Series(range(0, 10_000, 2)))
    assert (many["x"] % 2 == 0).sum() >= 50  # at most half from the flagged rows, the rest random
    assert _sample(df.head(50), 100, flagged).height == 50
