"""Write a simulated city to a folder: the seven tables, the defect ledger, column docs, manifest.

Why these formats: parquet is what the service reads (typed, compressed, fast); CSV in GBK with
Chinese headers is what district offices exchange in practice, so the contracts must be tested on
it. Every file is deterministic — no timestamps anywhere — so the same seed and arguments give
byte-identical folders (``simulation.json`` records SHA-256 of every file to prove it).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import polars as pl

from data_contracts.tables import TABLES

__all__ = ["columns_markdown", "write_city"]

Format = Literal["parquet", "csv"]
Encoding = Literal["utf-8", "gbk"]
Headers = Literal["en", "zh"]
_CHUNK = 250_000


def _labels(table: str) -> dict[str, str]:
    return {c.name: c.label for c in TABLES[table].columns}


def _write_csv(df: pl.DataFrame, path: Path, encoding: Encoding) -> None:
    if encoding == "utf-8":
        df.write_csv(path)
        return
    with path.open("wb") as fh:
        for i, start in enumerate(range(0, max(df.height, 1), _CHUNK)):
            buf = io.BytesIO()
            df.slice(start, _CHUNK).write_csv(buf, include_header=i == 0)
            fh.write(buf.getvalue().decode("utf-8").encode("gbk", errors="strict"))


def columns_markdown() -> str:
    """Documentation of every column of the seven tables, rendered from data_contracts.tables."""
    lines = [
        "# Columns of the simulated city",
        "",
        "Rendered from `data_contracts/tables.py` (the input contract). Money in 万元, ratios as",
        "fractions, dates ISO. Null means unknown, never zero. `year` rows describe the state at the",
        "end of that calendar year.",
        "",
    ]
    for t in TABLES.values():
        lines += [f"## `{t.name}` — {t.label}", "", f"Key: {', '.join(t.key)}", ""]
        lines += ["| column | 中文 | type | unit | meaning |", "|---|---|---|---|---|"]
        for c in t.columns:
            req = "" if c.required else " (optional)"
            lines.append(f"| `{c.name}` | {c.label} | {c.dtype} | {c.unit} | {c.meaning}{req} |")
        lines.append("")
    lines += [
        "## `injected` — 注入缺陷清单 (only with `--dirty`)",
        "",
        "| column | meaning |",
        "|---|---|",
        "| `table` | table the defect is in |",
        "| `row` | 0-based row position in that table as written |",
        "| `uscc` | the row's USCC as written |",
        "| `column` | the spoiled column |",
        "| `kind` | bad_uscc_check, negative_money, missing_money, duplicate_firm, unknown_industry, future_date, orphan_child |",
        "",
    ]
    return "\n".join(lines)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_city(
    tables: Mapping[str, pl.DataFrame],
    out: Path | str,
    *,
    arguments: Mapping[str, Any],
    injected: pl.DataFrame | None = None,
    fmt: Format = "parquet",
    encoding: Encoding = "utf-8",
    headers: Headers = "en",
) -> dict[str, Any]:
    """Write ``tables`` (and the ledger) to ``out``; return the manifest also saved as JSON."""
    if fmt == "parquet" and (encoding != "utf-8" or headers != "en"):
        raise ValueError("parquet 文件固定为 UTF-8、英文列名；GBK 与中文列名请用 --format csv")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    for name, df in tables.items():
        if headers == "zh":
            df = df.rename(_labels(name))
        path = out / f"{name}.{fmt}"
        if fmt == "parquet":
            df.write_parquet(path, compression="zstd", statistics=True)
        else:
            _write_csv(df, path, encoding)
        files[path.name] = _sha256(path)
    if injected is not None:
        path = out / "injected.parquet"
        injected.write_parquet(path, compression="zstd")
        files[path.name] = _sha256(path)
    (out / "columns.md").write_text(columns_markdown(), encoding="utf-8")
    manifest = {
        "generator": "tiering.simulate",
        "arguments": dict(arguments),
        "format": fmt,
        "encoding": encoding,
        "headers": headers,
        "rows": {name: df.height for name, df in tables.items()},
        "injected": None
        if injected is None
        else injected.group_by("kind").len().sort("kind").rows(),
        "files": files,
    }
    (out / "simulation.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return manifest
