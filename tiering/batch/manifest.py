"""The run manifest: what went in, what rules and models were used, how many rows each stage
kept, how long each stage took and how much memory the run peaked at.

Why the counts must reconcile: a firm that silently disappears between reading and scoring is the
worst failure a yearly list can have (it is simply never visited). Every stage records rows in and
out, and ``Manifest.reconcile`` asserts the identities below before the run folder is made
visible; a run that does not add up is never published.

- per input table: ``rows_in == rows_valid + rows_quarantined``;
- firms: ``firms_in == firms_quarantined + firms_out_of_scope + scored`` (out of scope = valid
  firms not registered on the as-of date);
- every per-firm output has exactly ``scored`` rows (frame, rule placement, scores, predictions).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Manifest", "ReconciliationError", "file_sha256", "peak_rss_mb"]


class ReconciliationError(AssertionError):
    """Row counts of a run do not add up; the run is not published."""


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file, streamed."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1 << 20 if sys.platform == "darwin" else 1 << 10), 1)


@dataclass
class Manifest:
    """Collects a run's provenance while it runs; ``to_json`` writes ``manifest.json``."""

    run_id: str
    as_of: dt.date
    created_at: dt.datetime
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    packs: dict[str, dict[str, Any]] = field(default_factory=dict)
    models: dict[str, Any] = field(default_factory=lambda: {"used": False})
    tables: dict[str, dict[str, int]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    stages: dict[str, dict[str, float]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    tool: dict[str, str] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time a stage and record the process's peak memory at its end.

        ``cpu_seconds`` is the process's CPU time over the stage (all threads): against
        ``seconds`` it says how many cores the stage kept busy, which a wall clock on a shared
        machine cannot.
        """
        start, cpu = time.perf_counter(), time.process_time()
        yield
        self.stages[name] = {
            "seconds": round(time.perf_counter() - start, 3),
            "cpu_seconds": round(time.process_time() - cpu, 3),
            "peak_rss_mb": peak_rss_mb(),
        }

    def add_input(self, table: str, path: Path, rows: int, sha256: str) -> None:
        """Record an input file: name, size, SHA-256 (the caller's: it hashed the file to name
        the run, and at a million firms the inputs are ~0.5 GB) and rows read."""
        self.inputs[table] = {
            "file": path.name,
            "bytes": path.stat().st_size,
            "sha256": sha256,
            "rows": rows,
        }

    def count_table(self, table: str, rows_in: int, rows_valid: int, rows_quarantined: int) -> None:
        """Rows of one input table before and after validation."""
        self.tables[table] = {
            "rows_in": rows_in,
            "rows_valid": rows_valid,
            "rows_quarantined": rows_quarantined,
        }

    def reconcile(self, per_firm_outputs: dict[str, int]) -> None:
        """Assert the identities of the module docstring; raise ``ReconciliationError`` if not.

        >>> m = Manifest("r", dt.date(2025, 6, 30), dt.datetime(2025, 7, 1))
        >>> m.count_table("firms", 10, 9, 1)
        >>> m.counts.update(firms_in=10, firms_quarantined=1, firms_out_of_scope=2, scored=7)
        >>> m.reconcile({"frame": 7, "scores": 7})
        >>> m.reconcile({"frame": 7, "scores": 6})
        Traceback (most recent call last):
        ...
        tiering.batch.manifest.ReconciliationError: scores has 6 rows, expected scored = 7
        """
        problems = []
        for table, c in self.tables.items():
            if c["rows_in"] != c["rows_valid"] + c["rows_quarantined"]:
                problems.append(
                    f"{table}: rows_in {c['rows_in']} != valid {c['rows_valid']}"
                    f" + quarantined {c['rows_quarantined']}"
                )
        k = self.counts
        total = k["firms_quarantined"] + k["firms_out_of_scope"] + k["scored"]
        if k["firms_in"] != total:
            problems.append(
                f"firms_in {k['firms_in']} != quarantined {k['firms_quarantined']}"
                f" + out_of_scope {k['firms_out_of_scope']} + scored {k['scored']}"
            )
        if "firms" in self.tables and self.tables["firms"]["rows_in"] != k["firms_in"]:
            problems.append("firms_in differs from the firms table's rows_in")
        for name, rows in per_firm_outputs.items():
            if rows != k["scored"]:
                problems.append(f"{name} has {rows} rows, expected scored = {k['scored']}")
        if problems:
            raise ReconciliationError("; ".join(problems))
        self.counts["reconciled"] = 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "as_of": self.as_of.isoformat(),
            "created_at": self.created_at.isoformat(),
            "tool": self.tool,
            "inputs": self.inputs,
            "packs": self.packs,
            "models": self.models,
            "tables": self.tables,
            "counts": self.counts,
            "stages": self.stages,
            "outputs": self.outputs,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, sort_keys=False)
