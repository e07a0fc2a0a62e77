"""The data contract as data: Great Expectations (GX Core 1.x) expectation configurations.

Why one list: GX has no polars backend and is far too slow to split a million-firm batch row by
row, yet the issue asks for GX suites as the single contract of record. So the contract lives
here once, as plain GX configurations (``{"type", "kwargs", "meta"}``). :mod:`.suites` turns them
into GX ``ExpectationSuite`` objects; :mod:`.rowcheck` compiles the *same* dicts into polars
expressions for the row-level split. Nothing else lists a rule.

Run-time values are GX suite parameters (``{"$PARAMETER": name}``), resolved by both paths from
:func:`parameters`: ``as_of`` (the run's date), ``as_of_year`` and ``firm_usccs`` (the codes
delivered in ``firms``, for referential integrity).

Every configuration carries ``meta``: ``rule`` (stable rule id, used in quarantine and report),
``level`` (``schema`` — a failure makes the batch unusable; ``row`` — the failing rows are
quarantined) and ``message`` (a Chinese template with ``{label}`` and ``{value}``).

Missing money is not an error: a null amount means *unknown* (DESIGN.md) and is reported in the
null rates of the batch checks, never quarantined. Only key columns must be non-null.

>>> rules = table_expectations("financials")
>>> [r["meta"]["rule"] for r in rules if r["kwargs"].get("column") == "revenue"]
['COLUMN-MISSING', 'MONEY-NEG']
"""

from __future__ import annotations

import copy
import functools
from datetime import date
from typing import Any

import polars as pl

from data_contracts.tables import EVENT_KINDS, TABLES, TColumn

__all__ = [
    "CHILD_TABLES",
    "MAIN_REVENUE_TOLERANCE",
    "PARAM",
    "ROW_TYPES",
    "SCHEMA_TYPES",
    "columns_of",
    "frame_expectations",
    "parameters",
    "table_expectations",
]

PARAM = "$PARAMETER"
MAIN_REVENUE_TOLERANCE = 0.01  # rounding in tax extracts: main revenue may exceed revenue by 1 %
CHILD_TABLES = tuple(t for t in TABLES if t != "firms")
MIN_YEAR = 1900

# Expectation types the row-level compiler understands (see rowcheck.py) and schema-level ones.
ROW_TYPES = frozenset(
    {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_between",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_be_unique",
        "expect_compound_columns_to_be_unique",
        "expect_column_pair_values_a_to_be_greater_than_b",
        "expect_column_values_to_be_valid_uscc",
        "expect_column_pair_values_a_to_be_at_most_b_times",
    }
)
SCHEMA_TYPES = frozenset({"expect_column_to_exist"})

FIRM_STATUS = ("active", "revoked", "cancelled", "moved_out")
LEVELS = {
    "rd_institution_level": ("none", "below_city", "city", "provincial", "national"),
    "quality_award_level": ("none", "city", "provincial", "national"),
    "sci_award_level": ("none", "provincial", "national"),
    "niche_domain": ("breakthrough", "foundation", "none"),
}
TITLE_TIERS = ("tech_sme", "innovative", "specialized", "little_giant", "champion")
TITLE_LEVELS = ("city", "provincial", "national")
APPLICATIONS = ("new", "review")
FOUR_ABOVE_KINDS = ("工业", "批发", "零售", "住宿", "餐饮", "服务业", "建筑业", "房地产")
SIGNED_MONEY = frozenset({"net_profit", "net_profit_y1"})
SCORES = {"platform_score": 100.0, "local_feature_points": 15.0, "digital_level": 4}
# Dated facts that must not lie after the run's date (``expires`` legitimately does).
PAST_DATES = frozenset(
    {"established", "closed", "granted", "revoked", "date", "end_date", "platform_score_date"}
)


def _e(type_: str, rule: str, message: str, level: str = "row", **kwargs: Any) -> dict[str, Any]:
    return {
        "type": type_,
        "kwargs": kwargs,
        "meta": {"rule": rule, "level": level, "message": message},
    }


def _codes() -> dict[str, list[str]]:
    from tiering.codes import WUHAN_DISTRICTS, ZONES, industries, streets

    return {
        "industry": industries()["code"].to_list(),
        "district": sorted(WUHAN_DISTRICTS),
        "street": streets()["code"].to_list(),
        "zone": sorted(ZONES),
    }


def _column_rules(name: str, unit: str, dtype_name: str) -> list[dict[str, Any]]:
    """Range and code rules that follow from a column's name, unit and type."""
    out: list[dict[str, Any]] = []
    base = name.removesuffix("_y1").removesuffix("_y2").removesuffix("_y3").removesuffix("_y0")
    if unit == "万元" and name not in SIGNED_MONEY:
        out.append(
            _e(
                "expect_column_values_to_be_between",
                "MONEY-NEG",
                "{label}不得为负数：{value}万元",
                column=name,
                min_value=0,
            )
        )
    elif base in SCORES:
        out.append(
            _e(
                "expect_column_values_to_be_between",
                "RANGE",
                f"{{label}}应在0–{SCORES[base]:g}之间：{{value}}",
                column=name,
                min_value=0,
                max_value=SCORES[base],
            )
        )
    elif unit in ("人", "项"):
        out.append(
            _e(
                "expect_column_values_to_be_between",
                "COUNT-NEG",
                "{label}不得为负数：{value}",
                column=name,
                min_value=0,
            )
        )
    elif unit == "名":
        out.append(
            _e(
                "expect_column_values_to_be_between",
                "RANK",
                "{label}应为不小于1的名次：{value}",
                column=name,
                min_value=1,
            )
        )
    elif unit == "比例":
        out.append(
            _e(
                "expect_column_values_to_be_between",
                "RATIO",
                "{label}应为0–1之间的比例（如0.03表示3%）：{value}",
                column=name,
                min_value=0,
                max_value=1,
            )
        )
    elif name == "year" or name.endswith("_year"):
        out.append(
            _e(
                "expect_column_values_to_be_between",
                "YEAR-FUTURE",
                f"{{label}}应在{MIN_YEAR}年至评估年度之间：{{value}}",
                column=name,
                min_value=MIN_YEAR,
                max_value={PARAM: "as_of_year"},
            )
        )
    elif unit == "年":
        out.append(
            _e(
                "expect_column_values_to_be_between",
                "RANGE",
                "{label}不得为负数：{value}",
                column=name,
                min_value=0,
            )
        )
    if dtype_name == "Date" and name in PAST_DATES:
        out.append(
            _e(
                "expect_column_values_to_be_between",
                "DATE-FUTURE",
                "{label}晚于评估日期：{value}",
                column=name,
                max_value={PARAM: "as_of"},
            )
        )
    if base in LEVELS:
        out.append(
            _e(
                "expect_column_values_to_be_in_set",
                "ENUM",
                "{label}取值“{value}”不在允许范围（" + "/".join(LEVELS[base]) + "）",
                column=name,
                value_set=list(LEVELS[base]),
            )
        )
    codes = _codes()
    if name == "industry":
        out.append(
            _e(
                "expect_column_values_to_be_in_set",
                "CODE-INDUSTRY",
                "行业代码“{value}”不是GB/T 4754-2017（含第1号修改单）的小类代码",
                column=name,
                value_set=codes["industry"],
            )
        )
    elif name == "district":
        out.append(
            _e(
                "expect_column_values_to_be_in_set",
                "CODE-DISTRICT",
                "行政区划代码“{value}”不是武汉市13个区之一（420102–420117）",
                column=name,
                value_set=codes["district"],
            )
        )
    elif name == "street":
        out.append(
            _e(
                "expect_column_values_to_be_in_set",
                "CODE-STREET",
                "街道代码“{value}”不是武汉市的乡镇街道代码",
                column=name,
                value_set=codes["street"],
            )
        )
    elif name == "zone":
        out.append(
            _e(
                "expect_column_values_to_be_in_set",
                "ENUM",
                "功能区取值“{value}”不在允许范围",
                column=name,
                value_set=codes["zone"],
            )
        )
    elif name == "status":
        out.append(
            _e(
                "expect_column_values_to_be_in_set",
                "ENUM",
                "登记状态“{value}”不在允许范围（active/revoked/cancelled/moved_out）",
                column=name,
                value_set=list(FIRM_STATUS),
            )
        )
    return out


def _pair_at_most(a: str, b: str, rule: str, message: str) -> dict[str, Any]:
    return _e(
        "expect_column_pair_values_a_to_be_at_most_b_times",
        rule,
        message,
        column_A=a,
        column_B=b,
        factor=1 + MAIN_REVENUE_TOLERANCE,
        ignore_row_if="either_value_is_missing",
    )


def _pair_ge(a: str, b: str, rule: str, message: str, *, or_equal: bool = True) -> dict[str, Any]:
    return _e(
        "expect_column_pair_values_a_to_be_greater_than_b",
        rule,
        message,
        column_A=a,
        column_B=b,
        or_equal=or_equal,
        ignore_row_if="either_value_is_missing",
    )


CROSS: dict[str, list[dict[str, Any]]] = {
    "firms": [
        _pair_ge("closed", "established", "DATE-ORDER", "注销/吊销/迁出日期早于成立日期：{value}")
    ],
    "financials": [
        _pair_at_most(
            "main_revenue",
            "revenue",
            "CROSS-MAIN-REVENUE",
            "主营业务收入超过营业收入（允许1%误差）：{value}",
        ),
        _pair_at_most(
            "export_revenue",
            "revenue",
            "CROSS-EXPORT",
            "出口收入超过营业收入（允许1%误差）：{value}",
        ),
        _pair_ge("employees", "rd_staff", "CROSS-RD-STAFF", "研发人员多于从业人员：{value}"),
    ],
    "ip": [
        _pair_ge(
            "class1_ip",
            "class1_self_developed",
            "CROSS-IP",
            "自主研发Ⅰ类知识产权多于Ⅰ类知识产权总数：{value}",
        ),
        _pair_ge(
            "class1_ip",
            "class1_high_value",
            "CROSS-IP",
            "Ⅰ类高价值知识产权多于Ⅰ类知识产权总数：{value}",
        ),
    ],
    "recognitions": [
        _pair_ge("expires", "granted", "DATE-ORDER", "有效期至早于认定日期：{value}"),
        _pair_ge("revoked", "granted", "DATE-ORDER", "撤销日期早于认定日期：{value}"),
    ],
    "events": [_pair_ge("end_date", "date", "DATE-ORDER", "移出日期早于发生/列入日期：{value}")],
}

ENUMS: dict[str, dict[str, tuple[str, ...]]] = {
    "recognitions": {"tier": TITLE_TIERS, "level": TITLE_LEVELS, "application": APPLICATIONS},
    "stats_roster": {"four_above_kind": FOUR_ABOVE_KINDS},
    "events": {"kind": tuple(EVENT_KINDS)},
}


def _key_rules(table: str, key: tuple[str, ...], uscc_present: bool) -> list[dict[str, Any]]:
    labels = {c.name: c.label for c in TABLES[table].columns} if table in TABLES else {}
    labels = {k: labels.get(k, k) for k in key}
    out = [
        _e("expect_column_values_to_not_be_null", "KEY-NULL", "主键字段{label}缺失", column=k)
        for k in key
    ]
    if uscc_present and "uscc" not in key:
        out.append(
            _e(
                "expect_column_values_to_not_be_null",
                "KEY-NULL",
                "统一社会信用代码缺失",
                column="uscc",
            )
        )
    if uscc_present:
        out.append(
            _e(
                "expect_column_values_to_be_valid_uscc",
                "USCC",
                "统一社会信用代码“{value}”不符合GB 32100",
                column="uscc",
            )
        )
    if len(key) == 1:
        out.append(
            _e(
                "expect_column_values_to_be_unique",
                "KEY-DUP",
                "{label}“{value}”重复出现（所有重复行均隔离，无法判断哪一行正确）",
                column=key[0],
            )
        )
    else:
        out.append(
            _e(
                "expect_compound_columns_to_be_unique",
                "KEY-DUP",
                "主键（" + "+".join(labels[k] for k in key) + "）重复：{value}（所有重复行均隔离）",
                column_list=list(key),
            )
        )
    if table != "firms" and uscc_present:
        out.append(
            _e(
                "expect_column_values_to_be_in_set",
                "REF-FIRM",
                "企业基本信息表中没有统一社会信用代码为“{value}”的企业",
                column="uscc",
                value_set={PARAM: "firm_usccs"},
            )
        )
    return out


@functools.cache
def _table_expectations(table: str) -> tuple[dict[str, Any], ...]:
    spec = TABLES[table]
    cols: dict[str, TColumn] = {c.name: c for c in spec.columns}
    out = [
        _e(
            "expect_column_to_exist",
            "COLUMN-MISSING",
            "缺少必需字段{label}",
            level="schema",
            column=c.name,
        )
        for c in spec.columns
        if c.required
    ]
    out += _key_rules(table, spec.key, "uscc" in cols)
    for c in spec.columns:
        out += _column_rules(c.name, c.unit, type(c.dtype).__name__)
    for col, allowed in ENUMS.get(table, {}).items():
        out.append(
            _e(
                "expect_column_values_to_be_in_set",
                "ENUM",
                "{label}取值“{value}”不在允许范围（" + "/".join(allowed) + "）",
                column=col,
                value_set=list(allowed),
            )
        )
    out += CROSS.get(table, [])
    return tuple(out)


def table_expectations(table: str) -> list[dict[str, Any]]:
    """GX expectation configurations (dicts) of one input table, schema rules first."""
    if table not in TABLES:
        raise KeyError(f"unknown table {table!r}; tables: {', '.join(TABLES)}")

    return _with_ids(table, copy.deepcopy(list(_table_expectations(table))))


@functools.cache
def _frame_expectations() -> tuple[dict[str, Any], ...]:
    from tiering.frame import FRAME_COLUMNS

    out = [
        _e(
            "expect_column_to_exist",
            "COLUMN-MISSING",
            "缺少必需字段{label}",
            level="schema",
            column="uscc",
        )
    ]
    out += _key_rules("firms", ("uscc",), True)
    for c in FRAME_COLUMNS:
        out += _column_rules(c.name, c.unit, type(c.dtype).__name__)
    for y in ("y1", "y2", "y3"):
        out.append(
            _pair_at_most(
                f"main_revenue_{y}",
                f"revenue_{y}",
                "CROSS-MAIN-REVENUE",
                "主营业务收入超过营业收入（允许1%误差）：{value}",
            )
        )
    out.append(
        _pair_ge("employees_y1", "rd_staff_y1", "CROSS-RD-STAFF", "研发人员多于从业人员：{value}")
    )
    return tuple(out)


def frame_expectations(columns: list[str] | None = None) -> list[dict[str, Any]]:
    """Expectations of the §11 assessment frame; with ``columns``, only those that apply.

    Optional frame columns may be absent (the rules treat them as null), so rules naming an
    absent column are dropped rather than failed.
    """

    rules = _with_ids("frame", copy.deepcopy(list(_frame_expectations())))
    if columns is None:
        return rules
    have = set(columns)
    return [r for r in rules if r["meta"]["level"] == "schema" or set(columns_of(r)) <= have]


def _with_ids(prefix: str, rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give each configuration a stable id (``firms-003``) that GX results carry back in meta."""
    for i, r in enumerate(rules):
        r["meta"]["id"] = f"{prefix}-{i:03d}"
    return rules


def columns_of(rule: dict[str, Any]) -> list[str]:
    """The columns an expectation configuration reads."""
    k = rule["kwargs"]
    if "column" in k:
        return [k["column"]]
    if "column_list" in k:
        return list(k["column_list"])
    return [k["column_A"], k["column_B"]]


def parameters(as_of: date, firm_usccs: pl.Series | list[str] | None = None) -> dict[str, Any]:
    """The suite parameters both the GX path and the polars path resolve.

    ``firm_usccs`` stays a polars Series when given one: a million codes never become Python
    strings on the row-level path (the GX path converts only the codes its sample uses).

    >>> parameters(date(2025, 6, 30))["as_of_year"]
    2025
    """
    codes = firm_usccs if isinstance(firm_usccs, pl.Series) else list(firm_usccs or [])
    return {"as_of": as_of, "as_of_year": as_of.year, "firm_usccs": codes}
