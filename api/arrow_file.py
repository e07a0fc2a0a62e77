"""Writing one of the API's memory-mapped cache files (``api.criteria_cache``,
``api.detail_cache``) once and safely.

Why one function: both caches are written by whichever worker gets there first, possibly two at
once, and a crash must not leave a half-written file that the next start would map. Each writer
streams into its own temporary name (``.<name>.<pid>.tmp``) and renames it into place when
complete; a rename is atomic, so a reader sees the old state or the whole file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc

__all__ = ["write_atomically"]


def write_atomically(path: Path, schema: pa.Schema, tables: Iterable[pa.Table]) -> None:
    """Write ``tables`` as one Arrow IPC file at ``path`` (its folder created if need be)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with pa.OSFile(str(tmp), "wb") as sink, ipc.new_file(sink, schema) as writer:
            for table in tables:
                writer.write_table(table)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
