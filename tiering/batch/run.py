"""One batch run: read → validate → features → models → rules → an immutable run folder → store.

Why this shape: the bureau's yearly list must be reproducible (same inputs → same scores, input
hashes and rule/model versions in the manifest), complete (counts reconcile, asserted before the
folder becomes visible) and safe (a failure anywhere leaves the last published run serving —
see ``runfolder.building``). The store is written in one transaction, committed last: its rows
load while the folder's files are written (``StagedPublish``) and commit once the folder is in
place.

Run folder ``RUNS/<run_id>/``: ``scores.parquet`` (one row per firm), ``criteria.parquet`` (one
row per firm × pack × criterion, sorted by uscc, small row groups for look-ups), ``tiers.parquet``,
``quarantine.parquet``, ``validation.json``, ``candidates/<target>.xlsx`` (top
``candidates_top`` per list) and ``manifest.json``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console

from tiering.batch.candidates import TARGETS, select_all_candidates
from tiering.batch.export import export_candidates
from tiering.batch.manifest import Manifest, file_sha256
from tiering.batch.runfolder import building, complete_runs, make_run_id
from tiering.batch.scores import assemble_scores, next_packs, write_criteria
from tiering.batch.stages import (
    ModelOutput,
    Stages,
    history_only_columns,
    input_files,
    pack_versions,
)
from tiering.batch.summary import StageProgress
from tiering.errors import TieringError
from tiering.store.criteria_index import ROW_GROUP_ROWS

__all__ = ["BatchError", "RunResult", "run_batch"]

DEFAULT_GX = "off"
"""GX mode of a batch run unless asked otherwise.

Why off: the contracts' polars checks (``data_contracts.rowcheck``) decide every row's fate and
always run; GX (``--gx sample``) only re-checks a sample with the GX suites and reports drift
between the two — it changes no row. Its import and context cost ~10–15 s, about a quarter of the
1 M-firm budget and most of the demo's scoring time, so it is an operator's choice
(``tiering score --gx sample`` for a yearly run of record, ``tiering validate`` on its own)."""

STAGES = ("读取", "校验", "特征", "模型", "规则", "汇总", "写出", "发布")


class BatchError(TieringError):
    """The run cannot go on (unusable inputs, no firms, …); nothing was published."""


@dataclass(frozen=True)
class RunResult:
    """Where the run went, what it recorded and whether the store changed."""

    run_id: str
    run_dir: Path
    manifest: dict[str, Any]
    scores: pl.DataFrame
    published: bool
    publish_seconds: float | None = None


def _collect(frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    return frame.collect() if isinstance(frame, pl.LazyFrame) else frame


def _in_background(load: Callable[[], Any], name: str = "load-models") -> Future[Any]:
    """Run ``load`` in its own thread; ``result()`` waits for it and re-raises what it raised.

    Why threads: loading the champions is mostly imports and deserialising (Python, ~3.5 s) and
    hashing the inputs is hashlib, which releases the GIL, while reading and validating are
    polars work that releases it too, so they overlap.
    """
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"tiering-{name}")
    try:
        return pool.submit(load)
    finally:
        pool.shutdown(wait=False)  # no more work: the thread ends with the load


def _previous_profile(runs_dir: Path) -> Any:
    """The last complete run's validation profile, for the contracts' batch-to-batch checks."""
    runs = complete_runs(runs_dir)
    if not runs or not (runs[-1] / "validation.json").is_file():
        return None
    return json.loads((runs[-1] / "validation.json").read_text()).get("profile")


def run_batch(
    data_dir: Path | str,
    as_of: dt.date,
    runs_dir: Path | str,
    *,
    use_models: bool = True,
    store: Any | None = None,
    gx: str = DEFAULT_GX,
    money_unit: str = "wan",
    industry_codes: str = "current",
    candidates_top: int = 2000,
    stages: Stages | None = None,
    console: Console | None = None,
    progress: bool = True,
    now: dt.datetime | None = None,
) -> RunResult:
    """Score every firm in ``data_dir`` as of ``as_of`` into ``runs_dir`` and publish to ``store``.

    ``store=None`` writes the run folder only. ``use_models=False`` runs the rules only; otherwise
    ``stages.load_models`` starts in a background thread at once and the models stage waits for
    it (its errors surface there, as if the stage had loaded the models itself).
    ``money_unit`` / ``industry_codes`` are what the operator declares about the extracts (元 or
    万元; GB/T 4754-2017 or pre-2019 codes) and go to the contracts' reader unchanged.
    """
    stages = stages or Stages()
    data_dir, runs_dir = Path(data_dir), Path(runs_dir)
    created = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    say = console or Console(stderr=True, quiet=not progress)
    files = input_files(data_dir)
    if "firms" not in files:
        raise BatchError(f"{data_dir} 中没有企业基本信息表（firms.parquet/csv/xlsx）", field="data")
    # the models load while the inputs are hashed, read and validated; the models stage waits
    # for them and re-raises any error of the load there, as when it loaded them itself
    loading = _in_background(stages.load_models) if use_models else None

    # The inputs are hashed once — their SHA-256s name the run and go to the manifest — in a
    # thread while they are read: hashlib releases the GIL, and reading is polars work.
    hashing = _in_background(
        lambda: {name: file_sha256(path) for name, path in sorted(files.items())}, "hash-inputs"
    )
    m = Manifest("", as_of, created)  # named below, once the inputs are hashed

    with StageProgress(list(STAGES), say, enabled=progress) as bar:
        with bar.step("读取输入"), m.stage("read"):
            tables = stages.read(files, money_unit=money_unit, industry_codes=industry_codes)
            hashes = hashing.result()
            for name, path in files.items():
                m.add_input(name, path, tables[name].height, sha256=hashes[name])
        fingerprint = hashlib.sha256(
            json.dumps(
                {
                    "as_of": as_of.isoformat(),
                    "inputs": hashes,
                    "reader": [money_unit, industry_codes],
                },
                sort_keys=True,
            ).encode()
        ).hexdigest()
        run_id = make_run_id(as_of, fingerprint, created)
        suffix = 1
        while (runs_dir / run_id).exists():  # same inputs rerun within the same second
            suffix += 1
            run_id = f"{make_run_id(as_of, fingerprint, created)}-{suffix}"
        m.run_id = run_id
        m.tool = {
            "package": "wuhan-tiering",
            "version": _version(),
            "inputs_fingerprint": fingerprint,
            "reader": {"money_unit": money_unit, "industry_codes": industry_codes},
            "gx": gx,
        }
        with bar.step("数据校验"), m.stage("validate"):
            result = stages.validate(tables, as_of, gx, _previous_profile(runs_dir))
            if result.fatal:
                raise BatchError(f"输入数据不可用：{result.reason}", rule="CONTRACT-FATAL")
            for name, c in result.counts.items():
                m.count_table(name, c["rows_in"], c["rows_valid"], c["rows_quarantined"])
            valid = result.tables
            quarantine: pl.DataFrame = result.quarantine
            report = result.report
            del tables, result  # at 1 M firms each copy of the inputs is ~1–2 GB
        with bar.step("计算评估指标"), m.stage("features"):
            # with models, the frame also carries the history they read (one query, not two)
            frame = _collect(stages.features(valid, as_of, history=use_models))
            if frame["uscc"].n_unique() != frame.height:
                raise BatchError("评估数据中企业重复（uscc 不唯一）", field="uscc")
            del valid  # the input tables (~1–2 GB at 1 M firms): the frame has all they gave
        # models before rules: their feature matrices (~1–2 GB at 1 M firms) are freed before
        # the rules' wide frame (~2 GB) exists, so the two never add up in the peak
        with bar.step("模型评分"), m.stage("models"):
            if loading is not None:
                out = stages.models(frame, None, as_of, loading.result())
            else:
                out = ModelOutput(None, {"used": False, "reason": "按 --no-models 仅运行规则"})
            frame = frame.drop(history_only_columns(frame))  # rules and scores: the §11 frame
            m.models = out.info
            predictions = out.predictions
            if not out.info.get("used"):
                say.print(f"[yellow]未使用模型：{out.info.get('reason')}；本次仅按规则评分。[/]")
        with bar.step("规则判定"), m.stage("rules"):
            assessment = stages.rules(frame, as_of)
            tiers = _collect(assessment.tiers)
            firms = _collect(assessment.firms)
            m.packs = pack_versions(tiers["pack"].cast(pl.String).unique().to_list())
        m.counts = {
            "firms_in": m.tables["firms"]["rows_in"],
            "firms_quarantined": m.tables["firms"]["rows_quarantined"],
            "firms_out_of_scope": m.tables["firms"]["rows_valid"] - frame.height,
            "scored": frame.height,
            "tier_rows": tiers.height,
            "quarantine_reasons": quarantine.height,
        }
        staged: Any = None  # the store load running while the folder is written
        try:
            with bar.step("写出运行目录"), building(runs_dir, run_id) as tmp:
                with m.stage("criteria"):
                    written = write_criteria(
                        assessment,
                        tmp / "criteria.parquet",
                        next_packs(tiers, firms),
                        ROW_GROUP_ROWS,
                    )
                del assessment  # the rules' wide frame: ~2 GB at 1 M firms
                with m.stage("assemble"):
                    scores = assemble_scores(
                        frame, tiers, firms, predictions, written.offsets, written.gaps
                    )
                n_frame = frame.height
                del frame
                m.counts["criteria_rows"] = written.rows
                per_firm = {
                    "frame": n_frame,
                    "rule_firms": firms.height,
                    "criteria_firms": written.offsets.height,
                    "scores": scores.height,
                }
                if predictions is not None:
                    per_firm["predictions"] = predictions.height
                m.reconcile(per_firm)
                # the store's rows are built and loaded while the folder is written (polars and
                # SQLite release the GIL; the folder's files are mostly encoding and Excel) and
                # committed only once the folder is complete (see ``StagedPublish``)
                if store is not None and hasattr(store, "stage_publish"):
                    staged = store.stage_publish(run_id, scores, as_of=as_of, created_at=created)
                _write_outputs(
                    tmp, m, scores, written.rows, tiers, quarantine, report, candidates_top
                )
        except BaseException:
            if staged is not None:
                staged.abort()  # nothing was committed; the last run keeps serving
            raise
        run_dir = runs_dir / run_id

        published, seconds = False, None
        with bar.step("发布到数据库"):
            if store is not None:
                t0 = dt.datetime.now()  # from the folder's completion: the load ran before
                if staged is not None:
                    staged.complete(run_dir)
                else:
                    store.upgrade()
                    store.publish_run(run_dir, scores=scores)
                published, seconds = True, (dt.datetime.now() - t0).total_seconds()
    return RunResult(run_id, run_dir, m.to_dict(), scores, published, seconds)


def _write_outputs(
    tmp: Path,
    m: Manifest,
    scores: pl.DataFrame,
    criteria_rows: int,
    tiers: pl.DataFrame,
    quarantine: pl.DataFrame,
    report: dict[str, Any],
    candidates_top: int,
) -> None:
    """Every file of the run folder; ``manifest.json`` last, with the others' hashes."""
    with m.stage("write"):
        _write_files(tmp, m, scores, criteria_rows, tiers, quarantine, report, candidates_top)
    (tmp / "manifest.json").write_text(m.to_json(), encoding="utf-8")


def _write_files(
    tmp: Path,
    m: Manifest,
    scores: pl.DataFrame,
    criteria_rows: int,
    tiers: pl.DataFrame,
    quarantine: pl.DataFrame,
    report: dict[str, Any],
    candidates_top: int,
) -> None:
    scores.write_parquet(tmp / "scores.parquet", statistics=True)
    tiers.write_parquet(tmp / "tiers.parquet")
    quarantine.write_parquet(tmp / "quarantine.parquet")
    (tmp / "validation.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=1, default=str), encoding="utf-8"
    )
    (tmp / "candidates").mkdir()
    partial = m.to_dict()
    crit = pl.scan_parquet(tmp / "criteria.parquet")
    lists = select_all_candidates(scores, crit, list(TARGETS), top=candidates_top)
    sizes: dict[str, int] = {}
    for target, chosen in lists.items():
        sizes[target] = chosen.height
        export_candidates(
            chosen,
            "xlsx",
            manifest=partial,
            request={"target": target, "top": candidates_top},
            path=tmp / "candidates" / f"{target}.xlsx",
        )
    rows = {
        "scores.parquet": scores.height,
        "criteria.parquet": criteria_rows,
        "tiers.parquet": tiers.height,
        "quarantine.parquet": quarantine.height,
    }
    m.outputs = {
        name: {"rows": n, "sha256": file_sha256(tmp / name)} for name, n in rows.items()
    } | {f"candidates/{t}.xlsx": {"rows": n} for t, n in sizes.items()}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("wuhan-tiering")
    except PackageNotFoundError:  # pragma: no cover - source checkout without install
        return "0+unknown"
