"""The what-if assessor: the batch's own pipeline on the rows of concurrent requests.

Why the batch's pipeline: a what-if must equal the batch row for the same firm and date (parity),
so it runs what the batch runs — ``tiering.engine.assess`` on the assessment frame, the
``champion`` models' ``predict`` when registered, and puts the firm's stored record together with
``tiering.batch.scores_small.small_records`` (tested equal to the batch's ``build_scores`` +
``firm_rows``) — and the look-up's :func:`api.views.build_firm` turns either into the response.

Why micro-batches: the rule engine has a fixed cost per call (7–14 ms of CPU for the numpy
backend's walk over every pack on this machine, against ~0.5 ms per extra row) that dwarfs one
row; requests arriving within ``max_wait`` seconds (default 2 ms) are assessed together in one
frame and each caller gets its own row back. Rows with the same USCC never share a batch. Under
load this trades ≤ 2 ms of latency for several times the throughput; a lone request pays the 2 ms
only.

Why on the event loop and not in a worker thread: the small backend is pure-Python/numpy work on
tiny arrays that holds the GIL, so a thread gives no parallelism — only GIL hand-offs between the
loop and the worker on every request parsed meanwhile (measured with ``bench_api``-style load, 32
connections: 288 req/s and 3.4 ms of CPU per what-if through ``asyncio.to_thread``, 475 req/s and
2.1 ms inline). Requests that arrive while a batch runs wait in the socket and form the next batch,
so the batch size adapts to the load by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from api.frame_model import frame_from_rows
from api.views import describe_columns
from tiering.settings import Settings

__all__ = ["EngineAssessor", "MicroBatcher", "load_assessor"]

log = logging.getLogger("tiering.api")


Result = tuple[dict[str, Any], list[dict[str, Any]]]
BatchFn = Callable[[list[dict[str, Any]], dt.date, str], list[Result]]


class MicroBatcher:
    """Collect ``(key, row)`` submissions for ``max_wait`` s (or ``max_batch`` rows), run together."""

    def __init__(self, fn: BatchFn, *, max_batch: int = 64, max_wait: float = 0.002) -> None:
        self._fn = fn
        self._max_batch = max_batch
        self._max_wait = max_wait
        self._pending: list[tuple[tuple[dt.date, str], dict[str, Any], asyncio.Future]] = []
        self._flusher: asyncio.Task | None = None
        self._kick: asyncio.Event | None = None

    async def submit(self, row: dict[str, Any], as_of: dt.date, application: str) -> Result:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future = loop.create_future()
        self._pending.append(((as_of, application), row, fut))
        if self._flusher is None or self._flusher.done():
            self._kick = asyncio.Event()
            self._flusher = loop.create_task(self._flush_soon())
        elif len(self._pending) >= self._max_batch and self._kick is not None:
            self._kick.set()
        return await fut

    async def _flush_soon(self) -> None:
        assert self._kick is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._kick.wait(), self._max_wait)
        while self._pending:
            batch, self._pending = self._pending, []
            await self._run(batch)

    async def _run(self, batch: list) -> None:
        groups: dict[tuple[dt.date, str], list[list]] = {}
        for key, row, fut in batch:  # split by (date, application), then keep usccs unique
            chunks = groups.setdefault(key, [[]])
            target = next((c for c in chunks if all(r["uscc"] != row["uscc"] for r, _ in c)), None)
            if target is None or len(target) >= self._max_batch:
                target = []
                chunks.append(target)
            target.append((row, fut))
        for (as_of, application), chunks in groups.items():
            for chunk in chunks:
                if not chunk:
                    continue
                rows = [r for r, _ in chunk]
                try:  # inline on purpose (module docstring): a thread only adds GIL hand-offs
                    results = self._fn(rows, as_of, application)
                except Exception as exc:
                    for _, fut in chunk:
                        if not fut.done():
                            fut.set_exception(exc)
                    continue
                for (_, fut), res in zip(chunk, results, strict=True):
                    if not fut.done():
                        fut.set_result(res)
                await asyncio.sleep(0)  # let the loop answer and read what arrived meanwhile


class EngineAssessor:
    """Rules (+ models) on validated frame rows; :meth:`assess_one` is what the route awaits."""

    def __init__(
        self,
        *,
        assess: Callable[..., Any],
        packs_in_force: Callable[[dt.date, str], Sequence[str]] | None = None,
        pack_catalogue: Callable[[], list[dict[str, Any]]] | None = None,
        predict: Callable[[pl.DataFrame, dt.date], pl.DataFrame | None] | None = None,
        max_wait: float = 0.002,
    ) -> None:
        self._assess = assess
        self._packs_in_force = packs_in_force
        self._catalogue = pack_catalogue
        self._predict = predict
        self.models_loaded = predict is not None
        self._batcher = MicroBatcher(self.assess_rows, max_wait=max_wait)

    async def assess_one(self, row: dict[str, Any], as_of: dt.date, application: str) -> Result:
        return await self._batcher.submit(row, as_of, application)

    def assess_rows(
        self, rows: list[dict[str, Any]], as_of: dt.date, application: str
    ) -> list[Result]:
        """Synchronous core: the batch's pipeline on ``rows`` (unique usccs), in input order.

        The firm records are put together by ``small_records`` — the Python twin of the batch's
        ``build_scores`` + ``firm_rows`` (equal by test), ~10x cheaper on a micro-batch.
        """
        from tiering.batch.scores_small import small_records

        frame = frame_from_rows(rows)
        assessment = self._assess(frame, as_of, application=application)
        predictions = self._predict(frame, as_of) if self._predict is not None else None
        # the numpy backend's column lists when it ran (no polars frames built), else the frames
        table = getattr(assessment, "table", None)
        tables = [
            table(t) if table else getattr(assessment, t) for t in ("criteria", "tiers", "firms")
        ]
        records, crit = small_records(frame, *tables, predictions, "what-if")
        out: list[Result] = []
        for row in rows:
            rec = records[row["uscc"]]
            mine = crit.rows_by_firm.get(row["uscc"], [])
            out.append((rec, describe_columns(crit.columns, mine, rec.get("gaps"))))
        return out

    def packs(self, as_of: dt.date) -> list[dict[str, Any]]:
        """Pack metadata with whether each is in force on ``as_of`` for new applications / reviews."""
        new = set(self._packs_in_force(as_of, "new")) if self._packs_in_force else set()
        review = set(self._packs_in_force(as_of, "review")) if self._packs_in_force else set()
        out = []
        for p in self._catalogue() if self._catalogue else []:
            out.append(
                {**p, "in_force_new": p["pack"] in new, "in_force_review": p["pack"] in review}
            )
        return out


def _pack_catalogue() -> list[dict[str, Any]]:
    """Metadata of every shipped rule pack (id, tier, title, source, number of criteria)."""
    from tiering.pack_loader import list_packs, pack_metadata

    out = []
    for pid in list_packs():
        m = pack_metadata(pid)
        out.append(
            {
                "pack": m["id"],
                "tier": m.get("tier"),
                "title": m.get("label"),
                "source": m.get("source"),
                "n_criteria": len(m.get("criteria", ())) or None,
            }
        )
    return out


def _registry_exists(uri: str) -> bool:
    """False for a SQLite registry whose file is absent: no model can be registered there.

    Why: opening an absent MLflow SQLite store creates it and runs its migrations (~10 s), which
    would make every start-up of a rules-only service (and every test app) pay for nothing.

    >>> _registry_exists("sqlite:////nonexistent/dir/mlflow.db"), _registry_exists("http://mlflow:5000")
    (False, True)
    """
    if not uri.startswith("sqlite:///"):
        return True
    return Path(uri.removeprefix("sqlite:///")).is_file()


def _load_predictor(
    settings: Settings,
) -> Callable[[pl.DataFrame, dt.date], pl.DataFrame | None] | None:
    """The champion models' predict, post-processed exactly as the batch's models stage does.

    ``models.scoring.load_champions(tracking_uri)`` loads every target's ``champion`` once (SHA-256
    checked; ``None`` when none is registered — the API then answers with the rules only, like a
    batch run without models). Each what-if batch is scored with ``Champions.predict(frame,
    as_of=…, reasons_top=REASONS_TOP)`` and turned into the learned flags and the reasons list by
    ``tiering.batch.stages.learned_columns`` — the batch's own code, so online equals batch.
    """
    try:
        from models.scoring import load_champions
        from tiering.batch.stages import REASONS_TOP, learned_columns
    except ImportError:
        return None
    uri = settings.resolved_mlflow_uri
    if not _registry_exists(uri):
        return None
    try:
        champions = load_champions(uri)
    except Exception as exc:  # a broken registry must not stop the rules from serving
        log.warning("models_not_loaded", extra={"fields": {"exc_type": type(exc).__name__}})
        return None
    if champions is None:
        return None
    log.info("models_loaded", extra={"fields": {"versions": dict(champions.versions)}})

    def predict(frame: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
        raw = champions.predict(frame, as_of=as_of, reasons_top=REASONS_TOP)
        return learned_columns(raw)

    return predict


def load_assessor(settings: Settings) -> tuple[EngineAssessor | None, str | None]:
    """Load rule packs (and models) once; ``(None, reason)`` when the engine is unavailable."""
    try:
        from tiering import engine
    except ImportError as exc:
        return None, f"规则引擎不可用：{exc.name or type(exc).__name__}"
    try:
        catalogue = _pack_catalogue()
    except Exception as exc:  # a broken pack must not hide behind a running API
        return None, f"规则包加载失败：{type(exc).__name__}"
    assessor = EngineAssessor(
        assess=engine.assess,
        packs_in_force=getattr(engine, "packs_in_force", None),
        pack_catalogue=lambda: catalogue,
        predict=_load_predictor(settings),
    )
    return assessor, None
