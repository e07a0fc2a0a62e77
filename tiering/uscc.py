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

import numpy as np
import polars as pl

from tiering.errors import UsccError

__all__ = [
    "ALPHABET",
    "PROBLEMS",
    "WEIGHTS",
    "check_char",
    "complete",
    "complete_codes",
    "expected_check_expr",
    "is_valid",
    "uscc_problem_expr",
    "uscc_problems",
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


PROBLEMS = ("USCC-NULL", "USCC-LEN", "USCC-CHAR", "USCC-CHECK")
_LUT = np.full(256, -1, dtype=np.int64)
for _i, _c in enumerate(ALPHABET):
    _LUT[ord(_c)] = _i
_W = np.array(WEIGHTS, dtype=np.int64)


def _byte_matrix(codes: pl.Series, width: int = 18) -> np.ndarray:
    """``(n, width)`` bytes of non-null codes that are all exactly ``width`` bytes long."""
    arr = codes.rechunk().to_arrow()
    if arr.null_count:
        raise ValueError("codes must not contain nulls")
    import pyarrow as pa

    if arr.type != pa.large_string():
        arr = arr.cast(pa.large_string())
    _, offsets, data = arr.buffers()
    off = np.frombuffer(offsets, dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    raw = np.frombuffer(data, dtype=np.uint8)[off[0] : off[-1]]
    return raw.reshape(len(arr), width)


def uscc_problems(codes: pl.Series) -> pl.Series:
    """Per code: null when valid, else the rule id it breaks (see :data:`PROBLEMS`).

    Codes are compared after stripping whitespace and upper-casing, as the reference does.
    """
    norm = codes.cast(pl.String).str.strip_chars().str.to_uppercase()
    n = norm.len()
    out = np.zeros(n, dtype=np.int8)  # 0 = valid, i + 1 = PROBLEMS[i]
    is_null = norm.is_null().to_numpy()
    chars = norm.str.len_chars().fill_null(0).to_numpy()
    nbytes = norm.str.len_bytes().fill_null(0).to_numpy()
    out[chars != 18] = 2
    out[(chars == 18) & (nbytes != 18)] = 3  # 18 characters, some outside ASCII
    out[is_null] = 1
    pos = np.flatnonzero(out == 0)
    if pos.size:
        vals = _LUT[_byte_matrix(norm.gather(pos))]
        illegal = (vals < 0).any(axis=1)
        expected = (31 - (vals[:, :17] @ _W) % 31) % 31
        out[pos[illegal]] = 3
        out[pos[~illegal & (expected != vals[:, 17])]] = 4
    lut = pl.Series([None, *PROBLEMS], dtype=pl.String)
    return lut.gather(pl.Series(out, dtype=pl.UInt32)).alias(codes.name)


def complete_codes(stems: pl.Series) -> pl.Series:
    """Append the check character to each 17-character stem (vectorised ``uscc.complete``).

    Raises ``ValueError`` on a stem that is not 17 characters of the USCC alphabet.
    """
    norm = stems.cast(pl.String).str.strip_chars().str.to_uppercase()
    if norm.null_count() or not (norm.str.len_bytes() == 17).all():
        raise ValueError("every stem must be 17 ASCII characters")
    vals = _LUT[_byte_matrix(norm, 17)]
    if (vals < 0).any():
        raise ValueError("stems may only use the USCC alphabet (no I, O, S, V, Z)")
    check = (31 - (vals @ _W) % 31) % 31
    chars = pl.Series(list(ALPHABET), dtype=pl.String).gather(pl.Series(check, dtype=pl.UInt32))
    return (norm + chars).alias(stems.name)


def uscc_problem_expr(col: str = "uscc") -> pl.Expr:
    """Polars expression: null when the code is valid, else a rule id (see :data:`PROBLEMS`).

    Runs :func:`uscc_problems` on the whole column (numpy over the Arrow buffer, ~0.1 s per
    million codes) so it can sit inside a lazy query.
    """
    return pl.col(col).map_batches(uscc_problems, return_dtype=pl.String)


def expected_check_expr(col: str = "uscc") -> pl.Expr:
    """Polars expression: the correct check character for the first 17 characters (null when the
    stem is not 17 characters of the alphabet)."""

    def _expected(codes: pl.Series) -> pl.Series:
        stems = codes.cast(pl.String).str.strip_chars().str.to_uppercase().str.slice(0, 17)
        ok = (stems.str.len_bytes() == 17).fill_null(False)
        ok_idx = np.flatnonzero(ok.to_numpy())
        out = pl.Series(codes.name, [None] * len(codes), dtype=pl.String)
        if ok_idx.size:
            vals = _LUT[_byte_matrix(stems.gather(ok_idx), 17)]
            legal = ~(vals < 0).any(axis=1)
            check = (31 - (vals[legal] @ _W) % 31) % 31
            chars = pl.Series(list(ALPHABET), dtype=pl.String).gather(
                pl.Series(check, dtype=pl.UInt32)
            )
            out = out.scatter(pl.Series(ok_idx[legal], dtype=pl.UInt32), chars)
        return out

    return pl.col(col).map_batches(_expected, return_dtype=pl.String)
