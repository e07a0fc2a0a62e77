"""Read the input tables from parquet, CSV (UTF-8, UTF-8 with BOM, GBK/GB18030) or XLSX.

Why the reader does more than ``pl.read_csv``: extracts arrive as the other bureau made them —
GBK CSVs, Excel files with Chinese headers, amounts in 元, thousands separators, 是/否 flags,
dates as ``2020/3/4`` or Excel serial numbers. The reader maps headers through the alias table,
converts amounts to 万元, and casts every column to its contract dtype. It never drops a value
silently: a cell that does not parse becomes null *and* is recorded in a ``_parse_errors`` list
column (``[{column, value}]`` per row), which :func:`data_contracts.validate.validate_tables` turns
into quarantine reasons (rule ``TYPE``). Unknown headers are ignored (listed in
:class:`ReadInfo`); missing optional columns are added as nulls; missing required columns are
left missing so validation can name them.

A file that cannot be read at all (empty, undecodable, two headers for one column) raises
:class:`ReadError`.

Industry codes before the 2019 amendment (GB/T 4754-2017 第1号修改单): 9231 and 9232 meant
人民法院 and 人民检察院 then; since the amendment they are 9232 and 9233, and 9231 is
监察委员会. ``industry_codes="pre2019"`` declares that an extract was coded before the amendment
and maps it (:func:`tiering.codes.map_pre2019_industry`); the number of recoded rows is reported.
Nothing is mapped by guesswork: the register holds one industry code per firm with no date of
coding — a firm established in 2015 carries whatever code the registry holds today, so neither
``established`` nor the run date tells which edition a code follows. Only whoever delivers the
extract knows; the default is the current edition, and the batch checks warn when a register
holds these codes at all (they are public bodies, not enterprises).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import polars as pl

from data_contracts.aliases import resolve_header
from data_contracts.tables import TABLES
from tiering.errors import TieringError

__all__ = [
    "AMENDED_INDUSTRY_CODES",
    "PARSE_ERRORS",
    "SUFFIXES",
    "ReadError",
    "ReadInfo",
    "find_table_file",
    "read_table",
    "read_table_info",
    "read_tables",
]

PARSE_ERRORS = "_parse_errors"
SUFFIXES = (".parquet", ".csv", ".xlsx")
MoneyUnit = Literal["yuan", "wan"]
IndustryCodes = Literal["current", "pre2019"]
AMENDED_INDUSTRY_CODES = ("9231", "9232")  # meaning changed by the 2019 amendment
_TRUE = ("true", "t", "1", "1.0", "是", "y", "yes", "有", "√", "✓")
_FALSE = ("false", "f", "0", "0.0", "否", "n", "no", "无", "×", "✗")
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日")


class ReadError(TieringError):
    """A file that cannot be read as an input table (the message names file and cause)."""


@dataclass
class ReadInfo:
    """What the reader did with one file (reported to staff alongside the validation)."""

    table: str
    path: str
    format: str
    encoding: str | None
    frame: pl.DataFrame
    header_map: dict[str, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    added_optional: list[str] = field(default_factory=list)
    parse_errors: int = 0
    industry_codes: str = "current"
    industry_recoded: int = 0

    def summary(self) -> dict:
        """JSON-safe summary for report.json."""
        return {
            "table": self.table,
            "path": self.path,
            "format": self.format,
            "encoding": self.encoding,
            "rows": self.frame.height,
            "header_map": self.header_map,
            "ignored_columns": self.ignored_columns,
            "added_optional": self.added_optional,
            "parse_errors": self.parse_errors,
            "industry_codes": self.industry_codes,
            "industry_recoded": self.industry_recoded,
        }


def _decode(raw: bytes, path: Path) -> tuple[str, str]:
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8"), "utf-8-sig"
    for enc in ("utf-8", "gbk", "gb18030"):
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError:
            continue
    raise ReadError(
        f"文件{path.name}无法识别编码（支持UTF-8、UTF-8 BOM、GBK、GB18030）", value=str(path)
    )


def _read_csv(path: Path) -> tuple[pl.DataFrame, str]:
    raw = path.read_bytes()
    if not raw.strip():
        raise ReadError(f"文件{path.name}为空（没有表头）", value=str(path))
    text, enc = _decode(raw, path)
    first = text.split("\n", 1)[0]
    sep = "\t" if "\t" in first and "," not in first else ","
    data = raw if enc == "utf-8" else text.encode("utf-8")
    try:
        df = pl.read_csv(
            io.BytesIO(data), separator=sep, infer_schema=False, truncate_ragged_lines=False
        )
    except pl.exceptions.PolarsError as exc:  # ragged lines, unbalanced quotes, ...
        raise ReadError(f"CSV文件{path.name}格式错误，无法读取：{exc}", value=str(path)) from exc
    return df, enc


def _read_xlsx(path: Path) -> pl.DataFrame:
    import fastexcel

    if path.stat().st_size == 0:
        raise ReadError(f"文件{path.name}为空", value=str(path))
    try:
        sheet = fastexcel.read_excel(str(path)).load_sheet(0, dtypes="string")
    except Exception as exc:  # fastexcel raises its own error family
        raise ReadError(f"Excel文件{path.name}无法读取：{exc}", value=str(path)) from exc
    return sheet.to_polars()


def _read_raw(path: Path) -> tuple[pl.DataFrame, str, str | None]:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        if path.stat().st_size == 0:
            raise ReadError(f"文件{path.name}为空", value=str(path))
        try:
            return pl.read_parquet(path), "parquet", None
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise ReadError(f"parquet文件{path.name}无法读取：{exc}", value=str(path)) from exc
    if suffix == ".csv":
        df, enc = _read_csv(path)
        return df, "csv", enc
    if suffix == ".xlsx":
        return _read_xlsx(path), "xlsx", None
    raise ReadError(f"不支持的文件类型：{path.name}（支持parquet、csv、xlsx）", value=str(path))


def _clean_text(c: pl.Expr) -> pl.Expr:
    s = c.cast(pl.String).str.strip_chars()
    return (
        pl.when(s.is_in(["", "-", "—", "null", "NULL", "None", "nan", "NaN", "N/A", "#N/A"]))
        .then(None)
        .otherwise(s)
    )


def _parse(col: str, dtype: pl.DataType, fmt: str) -> pl.Expr:
    """Text -> contract dtype (null when unparseable)."""
    s = _clean_text(pl.col(col))
    if dtype == pl.String:
        return s
    if dtype in (pl.Float64, pl.Int64):
        num = s.str.replace_all(r"[,，¥￥\s]", "").cast(pl.Float64, strict=False)
        if dtype == pl.Float64:
            return num
        return pl.when(num == num.round(0)).then(num).otherwise(None).cast(pl.Int64, strict=False)
    if dtype == pl.Boolean:
        low = s.str.to_lowercase()
        return (
            pl.when(low.is_in(_TRUE)).then(True).when(low.is_in(_FALSE)).then(False).otherwise(None)
        )
    if dtype == pl.Date:
        head = s.str.replace(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$", "")
        parsed = [head.str.to_date(f, strict=False) for f in _DATE_FORMATS]
        if fmt == "xlsx":  # Excel serial day numbers (1900 date system)
            serial = head.cast(pl.Float64, strict=False)
            parsed.append(
                pl.when(serial.is_between(1, 2958465))
                .then(pl.date(1899, 12, 30) + pl.duration(days=serial.floor().cast(pl.Int64)))
                .otherwise(None)
            )
        return pl.coalesce(parsed)
    raise TypeError(f"no parser for dtype {dtype}")


def _conform(
    df: pl.DataFrame, table: str, fmt: str, money_unit: MoneyUnit
) -> tuple[pl.DataFrame, int]:
    spec = TABLES[table]
    key = set(spec.key) | {"uscc"}
    exprs, errors = [], []
    for c in spec.columns:
        if c.name not in df.columns:
            continue
        src = df.schema[c.name]
        if src == c.dtype:
            e = pl.col(c.name)
            if c.dtype == pl.Float64:
                e = e.fill_nan(None)
        elif c.name in key and src != pl.String and not (src.is_integer() and c.dtype == pl.Int64):
            e = pl.col(
                c.name
            )  # a key of the wrong type is left as is: validation rejects the batch
        elif src.is_numeric() and c.dtype in (pl.Float64, pl.Int64):
            # Typed numbers of another width: a value the contract type cannot hold exactly
            # (12.5 people, an out-of-range integer) becomes null *and* a TYPE reason.
            x = pl.col(c.name).fill_nan(None) if src.is_float() else pl.col(c.name)
            if c.dtype == pl.Int64 and src.is_float():
                e = pl.when(x == x.round(0)).then(x).otherwise(None).cast(pl.Int64, strict=False)
            else:
                e = x.cast(c.dtype, strict=False)
            errors.append(
                pl.when(x.is_not_null() & e.is_null())
                .then(pl.struct(column=pl.lit(c.name), value=x.cast(pl.String)))
                .otherwise(None)
            )
        elif src == pl.Datetime and c.dtype == pl.Date:
            e = pl.col(c.name).cast(pl.Date)
        else:
            e = _parse(c.name, c.dtype, fmt)
            raw = _clean_text(pl.col(c.name))
            errors.append(
                pl.when(raw.is_not_null() & e.is_null())
                .then(pl.struct(column=pl.lit(c.name), value=raw))
                .otherwise(None)
            )
        if c.name == "uscc" and df.schema[c.name] == pl.String:
            e = e.str.strip_chars().str.to_uppercase()
        if c.unit == "万元" and money_unit == "yuan":
            e = e / 10_000
        exprs.append(e.alias(c.name))
    out = df.select(
        *exprs, *([pl.concat_list(errors).list.drop_nulls().alias(PARSE_ERRORS)] if errors else [])
    )
    n_bad = 0
    if errors:
        n_bad = int(out.select(pl.col(PARSE_ERRORS).list.len().sum()).item() or 0)
        if n_bad == 0:
            out = out.drop(PARSE_ERRORS)
    return out, n_bad


def read_table_info(
    path: str | Path,
    table: str,
    money_unit: MoneyUnit = "wan",
    industry_codes: IndustryCodes = "current",
) -> ReadInfo:
    """Read one file as input table ``table`` and report what was mapped, added and ignored."""
    path = Path(path)
    if table not in TABLES:
        raise ReadError(f"未知的数据表：{table}", value=table)
    if money_unit not in ("yuan", "wan"):
        raise ReadError(
            f"金额单位应为yuan或wan，实际为{money_unit!r}", field="money_unit", value=money_unit
        )
    if industry_codes not in ("current", "pre2019"):
        raise ReadError(
            f"行业代码版本应为current或pre2019，实际为{industry_codes!r}",
            field="industry_codes",
            value=industry_codes,
        )
    raw, fmt, enc = _read_raw(path)
    header_map: dict[str, str] = {}
    ignored: list[str] = []
    for h in raw.columns:
        col = resolve_header(h, table)
        if col is None:
            ignored.append(h)
        elif col in header_map.values():
            other = next(k for k, v in header_map.items() if v == col)
            raise ReadError(
                f"文件{path.name}中“{other}”与“{h}”都对应字段{col}，无法确定使用哪一列",
                field=col,
                value=h,
                rule="HEADER-AMBIGUOUS",
            )
        else:
            header_map[h] = col
    df = raw.select([pl.col(h).alias(c) for h, c in header_map.items()])
    df, n_bad = _conform(df, table, fmt, money_unit)
    recoded = 0
    if industry_codes == "pre2019" and "industry" in df.columns:
        from tiering.codes import map_pre2019_industry

        recoded = int(df["industry"].is_in(AMENDED_INDUSTRY_CODES).sum())
        df = df.with_columns(map_pre2019_industry(pl.col("industry")))
    added = [c.name for c in TABLES[table].columns if not c.required and c.name not in df.columns]
    if added:
        df = df.with_columns(
            [pl.lit(None, dtype=TABLES[table].schema()[c]).alias(c) for c in added]
        )
    order = [c.name for c in TABLES[table].columns if c.name in df.columns]
    df = df.select(order + ([PARSE_ERRORS] if PARSE_ERRORS in df.columns else []))
    return ReadInfo(
        table, str(path), fmt, enc, df, header_map, ignored, added, n_bad, industry_codes, recoded
    )


def read_table(
    path: str | Path,
    table: str,
    money_unit: MoneyUnit = "wan",
    industry_codes: IndustryCodes = "current",
) -> pl.DataFrame:
    """Read one input table in its contract dtypes (see :func:`read_table_info`)."""
    return read_table_info(path, table, money_unit, industry_codes).frame


def find_table_file(directory: str | Path, table: str) -> Path | None:
    """``DIR/<table>.{parquet,csv,xlsx}`` or a file named by the table's Chinese label."""
    directory = Path(directory)
    names = (table, TABLES[table].label)
    for name in names:
        for suffix in SUFFIXES:
            p = directory / f"{name}{suffix}"
            if p.is_file():
                return p
    return None


def read_tables(
    directory: str | Path,
    money_unit: MoneyUnit = "wan",
    tables: Mapping[str, object] | None = None,
    industry_codes: IndustryCodes = "current",
) -> dict[str, pl.DataFrame]:
    """Every input table found in ``directory`` (absent tables are simply not in the dict)."""
    out = {}
    for name in tables or TABLES:
        p = find_table_file(directory, name)
        if p is not None:
            out[name] = read_table(p, name, money_unit, industry_codes)
    return out
