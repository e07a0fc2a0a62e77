"""统一社会信用代码 (USCC, GB 32100-2015): check character, validation, completion.

Why: every table is keyed by the USCC and real exchanges carry codes with wrong check characters;
the message must say *which* character is wrong and what it should be, so a clerk can fix the
source record. A vectorised polars form serves the million-row batch.

>>> check_char("91420100177855421")
'C'
>>> complete("91420100177855421")
'91420100177855421C'
>>> validate("91420100177855421c")
'91420100177855421C'
"""

from __future__ import annotations

import polars as pl

from tiering.errors import UsccError

__all__ = [
    "ALPHABET",
    "WEIGHTS",
    "check_char",
    "complete",
    "expected_check_expr",
    "is_valid",
    "uscc_problem_expr",
    "validate",
]

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, ...
_VALUE = {c: i for i, c in enumerate(ALPHABET)}


def check_char(stem: str) -> str:
    """Return the check character for a 17-character stem (raises on illegal characters)."""
    stem = stem.strip().upper()
    if len(stem) != 17:
        raise UsccError(
            f"统一社会信用代码前17位应为17个字符，实际为{len(stem)}个：{stem!r}",
            field="uscc",
            value=stem,
            rule="USCC-LEN",
        )
    total = 0
    for pos, (ch, w) in enumerate(zip(stem, WEIGHTS, strict=True), start=1):
        if ch not in _VALUE:
            raise UsccError(
                f"统一社会信用代码第{pos}位字符“{ch}”不合法（不得含I、O、S、V、Z或符号）",
                field="uscc",
                value=stem,
                rule="USCC-CHAR",
            )
        total += _VALUE[ch] * w
    return ALPHABET[(31 - total % 31) % 31]


def complete(stem: str) -> str:
    """Append the check character to a 17-character stem."""
    stem = stem.strip().upper()
    return stem + check_char(stem)


def validate(code: str) -> str:
    """Return the normalised code or raise :class:`UsccError` naming the faulty character."""
    if not isinstance(code, str):
        raise UsccError("统一社会信用代码缺失", field="uscc", value=code, rule="USCC-NULL")
    norm = code.strip().upper()
    if len(norm) != 18:
        raise UsccError(
            f"统一社会信用代码应为18位，实际为{len(norm)}位：{norm!r}",
            field="uscc",
            value=code,
            rule="USCC-LEN",
        )
    expected = check_char(norm[:17])
    if norm[17] != expected:
        raise UsccError(
            f"统一社会信用代码第18位校验码错误：为“{norm[17]}”，应为“{expected}”（{norm[:17]}{expected}）",
            field="uscc",
            value=code,
            rule="USCC-CHECK",
        )
    return norm


def is_valid(code: str | None) -> bool:
    """True when ``code`` is an 18-character USCC with the right check character."""
    try:
        validate(code)  # type: ignore[arg-type]
    except UsccError:
        return False
    return True


def uscc_problem_expr(col: str = "uscc") -> pl.Expr:
    """Polars expression: null when the code is valid, else a rule id (USCC-NULL/LEN/CHAR/CHECK).

    Vectorised over the column (no Python per row) so a million codes check in well under a
    second.
    """
    c = pl.col(col).str.strip_chars().str.to_uppercase()
    chars = [
        c.str.slice(i, 1).replace_strict(_VALUE, default=None, return_dtype=pl.Int64)
        for i in range(18)
    ]
    weighted = pl.sum_horizontal([chars[i] * WEIGHTS[i] for i in range(17)])
    expected = (31 - weighted % 31) % 31
    all_legal = pl.all_horizontal([ch.is_not_null() for ch in chars])
    return (
        pl.when(pl.col(col).is_null())
        .then(pl.lit("USCC-NULL"))
        .when(c.str.len_chars() != 18)
        .then(pl.lit("USCC-LEN"))
        .when(~all_legal)
        .then(pl.lit("USCC-CHAR"))
        .when(expected != chars[17])
        .then(pl.lit("USCC-CHECK"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )


def expected_check_expr(col: str = "uscc") -> pl.Expr:
    """Polars expression giving the correct check character for the first 17 characters."""
    c = pl.col(col).str.strip_chars().str.to_uppercase()
    chars = [
        c.str.slice(i, 1).replace_strict(_VALUE, default=None, return_dtype=pl.Int64)
        for i in range(17)
    ]
    weighted = pl.sum_horizontal([chars[i] * WEIGHTS[i] for i in range(17)])
    legal = pl.all_horizontal([ch.is_not_null() for ch in chars])
    return (
        pl.when(legal)
        .then((31 - weighted % 31) % 31)
        .otherwise(None)
        .replace_strict(dict(enumerate(ALPHABET)), default=None, return_dtype=pl.String)
    )
