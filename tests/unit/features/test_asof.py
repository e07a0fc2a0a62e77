"""The assessment frame: contract columns, year windows, titles, events, roster, population."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from features.asof import EXTRA_COLUMNS, HISTORY_COLUMNS, assessment_frame, check_keys
from tiering.errors import TieringError
from tiering.frame import FRAME_COLUMNS, TIERS

D = date(2025, 6, 30)


def one(tables, d=D, **kw) -> dict:
    """The frame row of firm F1 as a dict."""
    rows = assessment_frame(tables, d, **kw).filter(pl.col("uscc") == "F1").collect()
    assert rows.height == 1
    return rows.row(0, named=True)


def test_columns_and_dtypes_follow_the_contract(build):
    frame = assessment_frame(build.tables_of(firms=[build.firm()]), D).collect()
    expected = {c.name: c.dtype for c in FRAME_COLUMNS} | EXTRA_COLUMNS
    assert frame.schema == pl.Schema(expected)
    assert frame.columns[: len(FRAME_COLUMNS)] == [c.name for c in FRAME_COLUMNS]


def test_history_adds_its_columns(build):
    frame = assessment_frame(build.tables_of(firms=[build.firm()]), D, history=True)
    names = frame.collect_schema().names()
    assert set(HISTORY_COLUMNS) <= set(names)
    assert "standards_count_y1" in names


def test_years_y1_y2_y3_are_the_three_years_before_the_assessment_year(build):
    fin = [
        {"uscc": "F1", "year": y, "revenue": float(y), "equity_financing": y / 10}
        for y in range(2020, 2027)
    ]
    row = one(build.tables_of(firms=[build.firm()], financials=fin), history=True)
    assert (row["revenue_y1"], row["revenue_y2"], row["revenue_y3"]) == (2024.0, 2023.0, 2022.0)
    assert row["revenue_y4"] == 2021.0
    assert row["equity_financing_y3"] == pytest.approx(202.2)


def test_missing_year_is_null_never_zero(build):
    fin = [{"uscc": "F1", "year": 2023, "revenue": 10.0, "rd_expense": 0.0}]
    row = one(build.tables_of(firms=[build.firm()], financials=fin))
    assert row["revenue_y1"] is None and row["rd_expense_y1"] is None
    assert row["revenue_y2"] == 10.0 and row["rd_expense_y2"] == 0.0


def test_ip_and_credentials_come_from_year_y1(build):
    ip = [{"uscc": "F1", "year": y, "class1_ip": y - 2020} for y in (2023, 2024, 2025)]
    cred = [
        {"uscc": "F1", "year": 2024, "high_tech": True, "standards_count": 0, "niche_years": 4.0},
        {"uscc": "F1", "year": 2025, "high_tech": False, "standards_count": 5},
    ]
    row = one(build.tables_of(firms=[build.firm()], ip=ip, credentials=cred))
    assert row["class1_ip"] == 4
    assert row["high_tech"] is True and row["niche_years"] == 4.0
    assert row["standards_participation"] is False


@pytest.mark.parametrize(
    ("year", "score", "published", "column", "expected"),
    [
        (2025, 61.0, date(2025, 6, 30), "platform_score_y0", 61.0),  # published on D
        (2025, 61.0, date(2025, 7, 1), "platform_score_y0", None),  # published the day after
        (2025, 61.0, None, "platform_score_y0", None),  # no publication date: not provable
        (2024, 55.0, date(2024, 12, 1), "platform_score_y1", 55.0),
        (2024, 55.0, None, "platform_score_y1", 55.0),  # last year's state is known
        (2024, 55.0, date(2025, 7, 1), "platform_score_y1", None),  # published after D
    ],
)
def test_platform_scores(build, year, score, published, column, expected):
    cred = [{"uscc": "F1", "year": year, "platform_score": score, "platform_score_date": published}]
    assert one(build.tables_of(firms=[build.firm()], credentials=cred))[column] == expected


@pytest.mark.parametrize(
    ("granted", "expires", "revoked", "held"),
    [
        (date(2023, 1, 1), date(2025, 6, 30), None, True),  # last day of validity is D
        (date(2022, 1, 1), date(2025, 6, 29), None, False),  # expired the day before
        (date(2025, 6, 30), date(2028, 6, 29), None, True),  # granted on D
        (date(2025, 7, 1), date(2028, 6, 30), None, False),  # granted after D
        (date(2023, 1, 1), date(2026, 1, 1), date(2025, 6, 30), False),  # revoked on D
        (date(2023, 1, 1), date(2026, 1, 1), date(2025, 7, 1), True),  # revoked after D
    ],
)
def test_title_held_on_the_date(build, granted, expires, revoked, held):
    rec = [
        {
            "uscc": "F1",
            "tier": "specialized",
            "granted": granted,
            "expires": expires,
            "revoked": revoked,
            "level": "provincial",
            "rule_version": "specialized-2022",
        }
    ]
    row = one(build.tables_of(firms=[build.firm()], recognitions=rec))
    assert row["held_specialized"] is held
    assert row["specialized_expires"] == (expires if held else None)
    assert row["specialized_granted"] == (granted if held else None)
    assert row["held_little_giant"] is False and row["little_giant_expires"] is None


def test_overlapping_grants_report_the_latest_expiry_and_first_grant(build):
    rec = [
        {"uscc": "F1", "tier": "innovative", "granted": g, "expires": e, "level": "city"}
        for g, e in [
            (date(2019, 3, 1), date(2022, 2, 28)),
            (date(2022, 3, 1), date(2025, 12, 31)),
            (date(2025, 3, 1), date(2028, 2, 29)),
        ]
    ]
    row = one(build.tables_of(firms=[build.firm()], recognitions=rec))
    assert row["held_innovative"] is True
    assert row["innovative_expires"] == date(2028, 2, 29)
    assert row["innovative_granted"] == date(2025, 3, 1)
    assert row["innovative_first_granted"] == date(2019, 3, 1)


def test_title_revoked_in_three_years(build):
    rec = [
        {
            "uscc": "F1",
            "tier": "innovative",
            "granted": date(2021, 1, 1),
            "expires": date(2023, 12, 31),
            "revoked": date(2022, 7, 1),
        }
    ]
    tables = build.tables_of(firms=[build.firm()], recognitions=rec)
    assert one(tables)["title_revoked_3y"] is True
    assert one(tables, date(2025, 7, 1))["title_revoked_3y"] is False
    assert one(tables, date(2022, 6, 30))["title_revoked_3y"] is False


@pytest.mark.parametrize(
    ("kind", "start", "end", "column", "expected"),
    [
        ("abnormal_operation", date(2025, 1, 1), None, "abnormal_operation", True),
        ("abnormal_operation", date(2025, 1, 1), date(2025, 6, 30), "abnormal_operation", False),
        ("abnormal_operation", date(2025, 1, 1), date(2025, 7, 1), "abnormal_operation", True),
        ("abnormal_operation", date(2025, 7, 1), None, "abnormal_operation", False),
        ("serious_dishonesty", date(2025, 6, 30), None, "serious_dishonesty", True),
        ("safety_accident", date(2022, 7, 1), None, "incident_3y", True),  # D − 3y + 1 day
        ("safety_accident", date(2022, 6, 30), None, "incident_3y", False),  # exactly 3 years
        ("tax_evasion", date(2025, 6, 30), None, "incident_3y", True),
        ("tax_evasion", date(2025, 7, 1), None, "incident_3y", False),
        ("data_fraud", date(2023, 1, 1), None, "fraud_3y", True),
        ("data_fraud", date(2023, 1, 1), None, "incident_3y", True),
        ("quality_accident", date(2023, 1, 1), None, "fraud_3y", False),
        ("sci_dishonesty", date(2023, 1, 1), None, "incident_3y", False),
        ("sci_dishonesty", date(2023, 1, 1), None, "sci_dishonesty_3y", True),
        ("abnormal_operation", date(2023, 1, 1), None, "incident_3y", False),
    ],
)
def test_events(build, kind, start, end, column, expected):
    ev = [{"event_id": "E1", "uscc": "F1", "kind": kind, "date": start, "end_date": end}]
    assert one(build.tables_of(firms=[build.firm()], events=ev))[column] is expected


@pytest.mark.parametrize(
    ("incident", "d", "expected"),
    [
        (date(2021, 2, 28), date(2024, 2, 29), False),  # 3 years before 29 Feb is 28 Feb
        (date(2021, 3, 1), date(2024, 2, 29), True),
        (date(2021, 2, 28), date(2024, 2, 28), False),
        (date(2021, 2, 28), date(2024, 2, 27), True),
    ],
)
def test_three_year_window_around_a_leap_day(build, incident, d, expected):
    ev = [{"event_id": "E1", "uscc": "F1", "kind": "environmental_accident", "date": incident}]
    assert one(build.tables_of(firms=[build.firm()], events=ev), d)["incident_3y"] is expected


def test_roster_of_y1_absent_firm_is_not_on_it_unpublished_year_is_unknown(build):
    firms = [build.firm("F1"), build.firm("F2"), build.firm("F3")]
    ros = [
        {"uscc": "F1", "year": 2024, "four_above_kind": "工业", "in_roster": True},
        {"uscc": "F3", "year": 2024, "four_above_kind": "工业", "in_roster": False},
        {"uscc": "F1", "year": 2025, "four_above_kind": "工业", "in_roster": False},
    ]
    tables = build.tables_of(firms=firms, stats_roster=ros)
    got = dict(assessment_frame(tables, D).select("uscc", "in_four_above").collect().iter_rows())
    assert got == {"F1": True, "F2": False, "F3": False}
    later = assessment_frame(tables, date(2027, 1, 1)).collect()["in_four_above"]
    assert later.null_count() == 3  # the 2026 roster is not in the data


def test_absent_register_tables_read_as_unknown(build):
    row = one({"firms": build.table("firms", [build.firm()])})
    assert row["held_innovative"] is None and row["incident_3y"] is None
    assert row["in_four_above"] is None and row["revenue_y1"] is None


def test_population_and_status_on_the_date(build):
    firms = [
        build.firm("A"),
        build.firm("B", established=date(2025, 7, 1)),  # not yet registered on D
        build.firm("C", established=date(2025, 6, 30)),  # registered on D
        build.firm("E", closed=date(2023, 12, 31), status="cancelled"),  # gone before Y−1
        build.firm("F", closed=date(2024, 1, 1), status="cancelled"),  # closed during Y−1
        build.firm("G", closed=date(2025, 6, 30), status="revoked"),  # closed on D
        build.firm("H", closed=date(2025, 7, 1), status="moved_out"),  # still active on D
        build.firm("I", established=None),  # date unknown: kept, age unknown
    ]
    frame = assessment_frame(build.tables_of(firms=firms), D).collect()
    got = {r["uscc"]: (r["status"], r["closed"]) for r in frame.iter_rows(named=True)}
    assert got == {
        "A": ("active", None),
        "C": ("active", None),
        "F": ("cancelled", date(2024, 1, 1)),
        "G": ("revoked", date(2025, 6, 30)),
        "H": ("active", None),
        "I": ("active", None),
    }
    ages = dict(frame.select("uscc", "age_years").iter_rows())
    assert ages["C"] == 0.0 and ages["I"] is None
    assert ages["A"] == pytest.approx(15.16, abs=0.01)


@pytest.mark.parametrize(
    ("firms", "fin"),
    [
        (["F1", "F1"], [("F1", 2024)]),  # duplicate firm
        (["F1", "F1"], []),  # duplicate firm, no financial rows at all
        (["F1", "F2"], [("F1", 2024), ("F1", 2024)]),  # duplicate firm-year of Y−1
        (["F1", "F2"], [("F2", 2023), ("F2", 2023)]),  # duplicate firm-year of Y−2
    ],
)
def test_duplicate_keys_fail_loudly_never_duplicate_a_firm(build, firms, fin):
    tables = build.tables_of(
        firms=[build.firm(u) for u in firms],
        financials=[{"uscc": u, "year": y} for u, y in fin],
    )
    with pytest.raises(pl.exceptions.ComputeError, match="validation"):
        assessment_frame(tables, D).collect()


def test_duplicate_firm_is_caught_without_year_tables(build):
    tables = {"firms": build.table("firms", [build.firm(), build.firm()])}
    with pytest.raises(pl.exceptions.ComputeError, match="validation"):
        assessment_frame(tables, D).collect()


def test_missing_required_column_names_table_and_column(build):
    fin = build.table("financials", []).drop("rd_expense")
    tables = {"firms": build.table("firms", [build.firm()]), "financials": fin}
    with pytest.raises(TieringError, match=r"financials.*rd_expense（研发费用）") as err:
        assessment_frame(tables, D)
    assert err.value.field == "rd_expense"
    row = one(tables, strict=False)
    assert row["rd_expense_y1"] is None


def test_optional_columns_may_be_absent(build):
    firms = build.table("firms", [build.firm()]).drop("closed", "zone", "street", "resident")
    cred = build.table("credentials", [{"uscc": "F1", "year": 2024, "high_tech": True}]).drop(
        "platform_score", "platform_score_date", "honor_ip_demo"
    )
    row = one({"firms": firms, "credentials": cred})
    assert row["resident"] is None and row["platform_score_y1"] is None
    assert row["high_tech"] is True and row["status"] == "active"


def test_loose_input_dtypes_are_cast(build):
    fin = build.table("financials", [{"uscc": "F1", "year": 2024, "employees": 12}])
    fin = fin.with_columns(pl.col("year").cast(pl.Int32), pl.col("employees").cast(pl.Int16))
    row = one({"firms": build.table("firms", [build.firm()]), "financials": fin.lazy()})
    assert row["employees_y1"] == 12


def test_every_tier_has_held_and_expiry(build):
    rec = [
        {"uscc": "F1", "tier": t, "granted": date(2024, 1, 1), "expires": date(2026, 12, 31)}
        for t in TIERS
    ]
    row = one(build.tables_of(firms=[build.firm()], recognitions=rec))
    assert all(row[f"held_{t}"] for t in TIERS)
    assert {row[f"{t}_expires"] for t in TIERS} == {date(2026, 12, 31)}


def test_check_keys_names_table_key_and_firm(build, city):
    check_keys(city)  # a clean table set passes
    tables = build.tables_of(
        firms=[build.firm("F1"), build.firm("F2")],
        financials=[{"uscc": "F2", "year": 2023}, {"uscc": "F2", "year": 2023}],
    )
    with pytest.raises(TieringError, match=r"financials.*\(uscc, year\).*F2, 2023") as err:
        check_keys(tables)
    assert (err.value.uscc, err.value.rule) == ("F2", "contract:financials:key")
