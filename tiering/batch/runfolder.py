"""Immutable run folders: written under a temporary name, renamed into place when complete.

Why: the store and the API point at ``RUNS/<run_id>/``; a reader must never see half a run. A run
is built in ``RUNS/.tmp-<run_id>-<pid>/``; only when every file is written, flushed and the counts
reconcile is it renamed (an atomic ``rename(2)`` on one file system) to ``RUNS/<run_id>/`` and its
files made read-only. A crash leaves at most a ``.tmp-*`` folder, which no reader lists and the
next run removes; the last published run keeps serving. One run at a time per ``RUNS`` folder
(an advisory ``flock`` on ``RUNS/.lock``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

__all__ = ["RunFolderError", "building", "complete_runs", "make_run_id", "resolve_run"]

_TMP = ".tmp-"


class RunFolderError(RuntimeError):
    """A run folder is missing, incomplete or already exists."""


def make_run_id(as_of: dt.date, fingerprint: str, now: dt.datetime) -> str:
    """``<as-of>-<UTC time>-<first 8 of the inputs fingerprint>``: sortable, readable, unique.

    >>> make_run_id(dt.date(2025, 6, 30), "ab12cd34ef", dt.datetime(2025, 7, 1, 8, 0, 5))
    '20250630-20250701T080005-ab12cd34'
    """
    return f"{as_of:%Y%m%d}-{now:%Y%m%dT%H%M%S}-{fingerprint[:8]}"


def _fsync_tree(root: Path) -> None:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
    fd = os.open(root, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_only(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            path.chmod(0o444)


@contextlib.contextmanager
def _locked(runs_dir: Path) -> Iterator[None]:
    runs_dir.mkdir(parents=True, exist_ok=True)
    with open(runs_dir / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise RunFolderError(f"另一个批量运行正在写入 {runs_dir}，请稍后再试") from exc
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.contextmanager
def building(runs_dir: Path, run_id: str) -> Iterator[Path]:
    """Yield a temporary folder to write the run into; on success rename it to ``runs_dir/run_id``.

    Any exception removes the temporary folder and propagates; nothing under ``runs_dir`` that a
    reader lists has changed.
    """
    runs_dir = Path(runs_dir)
    with _locked(runs_dir):
        for stale in runs_dir.glob(f"{_TMP}*"):  # left by a crashed run (we hold the lock)
            shutil.rmtree(stale, ignore_errors=True)
        final = runs_dir / run_id
        if final.exists():
            raise RunFolderError(f"运行目录已存在：{final}")
        tmp = runs_dir / f"{_TMP}{run_id}-{os.getpid()}"
        tmp.mkdir()
        try:
            yield tmp
            _fsync_tree(tmp)
            _read_only(tmp)
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def complete_runs(runs_dir: Path) -> list[Path]:
    """Complete run folders (those with a manifest), oldest first by creation time."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    found = []
    for d in runs_dir.iterdir():
        if d.is_dir() and not d.name.startswith(".") and (d / "manifest.json").is_file():
            created = json.loads((d / "manifest.json").read_text())["created_at"]
            found.append((created, d.name, d))
    return [d for _, _, d in sorted(found)]


def resolve_run(runs_dir: Path, run_id: str | None = None) -> Path:
    """The folder of ``run_id``, or of the newest complete run when ``run_id`` is ``None``."""
    if run_id is not None:
        path = Path(runs_dir) / run_id
        if not (path / "manifest.json").is_file():
            raise RunFolderError(f"找不到运行 {run_id}（{runs_dir}）")
        return path
    runs = complete_runs(runs_dir)
    if not runs:
        raise RunFolderError(
            f"{runs_dir} 下还没有完成的运行；请先运行 tiering score 或 tiering demo"
        )
    return runs[-1]
