"""The ``Store``: one object the batch, the CLI and the API use to read and write the store.

Why a facade: callers get plain records (``RunInfo``, ``FirmRecord``, ``Principal``,
``AuditEntry``) and never see sessions or SQL; the URL comes from the settings (SQLite file in
``Settings.home`` by default, PostgreSQL via ``TIERING_DATABASE_URL``).

>>> s = Store("sqlite://"); _ = s.upgrade()
>>> s.latest_run() is None
True
>>> p, key = s.create_principal("station", ["420111"], "洪山区服务站")
>>> s.get_principal_by_key(key).districts
('420111',)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, func, insert, or_, select, update

from tiering.codes import WUHAN_DISTRICTS
from tiering.settings import Settings, get_settings
from tiering.store import migrate
from tiering.store.criteria_index import describe, open_index
from tiering.store.details import folder_details
from tiering.store.engine import make_engine
from tiering.store.models import ApiPrincipal, AuditLog, FirmResult, QuarantineSummary, Run
from tiering.store.publish import PublishResult, StoreError, publish_run
from tiering.store.records import ROLES, AuditEntry, FirmPage, FirmRecord, Principal, RunInfo

if TYPE_CHECKING:
    import polars as pl

__all__ = ["ROLES", "Store", "hash_key"]

KEY_PREFIX = "tk_"


def hash_key(key: str, pepper: str) -> str:
    """Keyed SHA-256 (HMAC) of an API key: what the store keeps instead of the key.

    >>> hash_key("tk_abc", "pepper") == hash_key("tk_abc", "pepper") != hash_key("tk_abc", "x")
    True
    """
    return hmac.new(pepper.encode(), key.encode(), hashlib.sha256).hexdigest()


class Store:
    """Runs, firm results, criteria look-ups, quarantine summaries, API principals, audit log."""

    def __init__(
        self,
        url: str | None = None,
        *,
        engine: Engine | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.url = url or self.settings.resolved_database_url
        self.engine = engine or make_engine(self.url)
        self.pepper = self.settings.api_key_pepper

    # -- schema -----------------------------------------------------------------------------
    def upgrade(self) -> str:
        """Create or upgrade the schema to the newest shipped migration; returns the revision."""
        return migrate.upgrade(self.engine)

    def is_current(self) -> bool:
        """Whether the schema is at the newest revision (the API's ``/readyz`` asks this)."""
        try:
            return migrate.current_revision(self.engine) == migrate.head_revision()
        except Exception:
            return False

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()

    # -- runs -------------------------------------------------------------------------------
    def publish_run(
        self,
        run_dir: Path | str,
        scores: pl.DataFrame | None = None,
        rows: pl.DataFrame | None = None,
    ) -> PublishResult:
        """Publish a complete run folder in one transaction; publishing it again changes nothing.

        ``scores``: the folder's ``scores.parquet`` frame, when the caller still holds it;
        ``rows``: its ``publish.typed_rows``, when already built.
        """
        with self.engine.begin() as conn:
            return publish_run(conn, run_dir, scores, rows)

    def stage_publish(
        self,
        run_id: str,
        scores: pl.DataFrame,
        *,
        as_of: dt.date,
        created_at: dt.datetime,
    ) -> StagedPublish:
        """Start publishing ``run_id`` (its ``scores``) while its folder is still being written
        (see :class:`StagedPublish`)."""
        return StagedPublish(self, run_id, scores, as_of=as_of, created_at=created_at)

    def runs(self, limit: int | None = None) -> list[RunInfo]:
        """Published runs, newest first."""
        stmt = select(Run).order_by(Run.seq.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [RunInfo.from_row(r) for r in conn.execute(stmt)]

    def get_run(self, run_id: str) -> RunInfo | None:
        """One published run by id."""
        with self.engine.connect() as conn:
            row = conn.execute(select(Run).where(Run.run_id == run_id)).first()
        return None if row is None else RunInfo.from_row(row)

    def latest_run(self) -> RunInfo | None:
        """The run the API serves: the one published last."""
        runs = self.runs(limit=1)
        return runs[0] if runs else None

    def _run_id(self, run: str | None) -> str | None:
        if run is not None:
            return run
        latest = self.latest_run()
        return None if latest is None else latest.run_id

    def prune(self, keep: int) -> list[str]:
        """Delete all but the newest ``keep`` runs from the store (folders stay on disk)."""
        if keep < 1:
            raise ValueError("keep must be >= 1")
        with self.engine.begin() as conn:
            old = conn.execute(select(Run.run_id).order_by(Run.seq.desc()).offset(keep)).scalars()
            old_ids = list(old)
            for run_id in old_ids:
                conn.execute(FirmResult.__table__.delete().where(FirmResult.run_id == run_id))
                conn.execute(
                    QuarantineSummary.__table__.delete().where(QuarantineSummary.run_id == run_id)
                )
                conn.execute(Run.__table__.delete().where(Run.run_id == run_id))
        return old_ids

    # -- firms ------------------------------------------------------------------------------
    def firm_result(self, uscc: str, run: str | None = None) -> FirmRecord | None:
        """One firm in ``run`` (default: the latest published run); ``None`` if absent."""
        run_id = self._run_id(run)
        if run_id is None:
            return None
        stmt = select(FirmResult).where(FirmResult.run_id == run_id, FirmResult.uscc == uscc)
        with self.engine.connect() as conn:
            row = conn.execute(stmt).first()
            records = self._records(conn, run_id, [] if row is None else [row])
        return records[0] if records else None

    @staticmethod
    def _records(conn: Any, run_id: str, rows: Sequence[Any]) -> list[FirmRecord]:
        """``FirmRecord``s of ``firm_results`` rows of one run, ``detail`` rebuilt from the run
        folder where the row does not hold it (``tiering.store.details``)."""
        maps = [dict(r._mapping) for r in rows]
        missing = [m["uscc"] for m in maps if m.get("detail") is None]
        if missing:
            run_dir = conn.execute(select(Run.run_dir).where(Run.run_id == run_id)).scalar()
            found = folder_details(run_dir, missing)
            for m in maps:
                if m.get("detail") is None:
                    m["detail"] = found.get(m["uscc"])
        return [FirmRecord.from_mapping(m) for m in maps]

    def search_firms(
        self,
        name: str | None = None,
        district: str | None = None,
        tier: str | None = None,
        page: int = 1,
        *,
        page_size: int = 50,
        eligible_tier: str | None = None,
        districts: Collection[str] | None = None,
        run: str | None = None,
    ) -> FirmPage:
        """Search the latest run (or ``run``), ordered by uscc, one page at a time.

        ``name``: substring of the firm name; ``district``: one GB/T 2260 code; ``tier``: the held
        tier (``none`` for firms holding no title); ``eligible_tier``: the tier the rules place the
        firm at; ``districts``: the caller's scope (a district or station key) — firms outside it
        are never returned.
        """
        if page < 1 or page_size < 1:
            raise ValueError("page and page_size must be >= 1")
        run_id = self._run_id(run)
        if run_id is None:
            return FirmPage([], 0, page, page_size)
        cond = [FirmResult.run_id == run_id]
        if name:
            escaped = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            cond.append(FirmResult.name.like(f"%{escaped}%", escape="\\"))
        if district:
            cond.append(FirmResult.district == district)
        if districts is not None:
            cond.append(FirmResult.district.in_(list(districts)))
        for col, value in ((FirmResult.held_tier, tier), (FirmResult.eligible_tier, eligible_tier)):
            if value == "none":
                cond.append(or_(col.is_(None), col == "none"))
            elif value:
                cond.append(col == value)
        with self.engine.connect() as conn:
            total = conn.execute(
                select(func.count()).select_from(FirmResult).where(*cond)
            ).scalar_one()
            rows = conn.execute(
                select(FirmResult)
                .where(*cond)
                .order_by(FirmResult.uscc)
                .limit(page_size)
                .offset((page - 1) * page_size)
            ).all()
            items = self._records(conn, run_id, rows)
        return FirmPage(items, int(total), page, page_size)

    def criteria_for(self, uscc: str, run: str | None = None) -> list[dict[str, Any]] | None:
        """Every criterion row of one firm in ``run`` (default latest), from the run folder,
        with its Chinese ``label`` and, when not met, its ``gap_text`` in plain Chinese.

        ``None`` when the firm is not in the run; ``FileNotFoundError`` when the run folder's
        ``criteria.parquet`` is gone (runs whose folders were deleted keep their firm rows only).
        """
        record = self.firm_result(uscc, run)
        if record is None:
            return None
        if record.criteria_offset is None or record.criteria_count is None:
            return []
        info = self.get_run(record.run_id)
        assert info is not None
        rows = open_index(info.run_dir).slice(record.criteria_offset, record.criteria_count)
        texts = {
            (g["pack"], g["criterion_id"]): g["text"] for g in record.gaps or () if g.get("text")
        }
        return describe(rows, texts)

    def quarantine_summary(self, run: str | None = None) -> list[dict[str, Any]]:
        """Quarantined rows of ``run`` (default latest) by table and rule."""
        run_id = self._run_id(run)
        stmt = (
            select(QuarantineSummary.table_name, QuarantineSummary.rule, QuarantineSummary.n_rows)
            .where(QuarantineSummary.run_id == run_id)
            .order_by(QuarantineSummary.table_name, QuarantineSummary.rule)
        )
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]

    # -- principals -------------------------------------------------------------------------
    def hash_key(self, key: str) -> str:
        """The stored form of ``key`` under this deployment's pepper."""
        return hash_key(key, self.pepper)

    def create_principal(
        self, role: str, districts: Iterable[str] = (), label: str = ""
    ) -> tuple[Principal, str]:
        """Create an API key; returns the principal and the key (shown once, never stored).

        ``bureau`` keys are city-wide (no districts); ``district`` and ``station`` keys need at
        least one Wuhan district code.
        """
        if role not in ROLES:
            raise StoreError(
                f"未知角色 {role!r}，应为 {', '.join(ROLES)}", field="role", value=role
            )
        codes = tuple(dict.fromkeys(d.strip() for d in districts if d.strip()))
        bad = [d for d in codes if d not in WUHAN_DISTRICTS]
        if bad:
            raise StoreError(
                f"区划代码 {bad[0]} 不是武汉市辖区（GB/T 2260）", field="districts", value=bad[0]
            )
        if role == "bureau" and codes:
            raise StoreError("bureau（市局）密钥覆盖全市，不能限定区", field="districts")
        if role != "bureau" and not codes:
            raise StoreError(f"{role} 密钥至少需要一个区划代码", field="districts")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        now = dt.datetime.now(dt.UTC)
        with self.engine.begin() as conn:
            pid = conn.execute(
                insert(ApiPrincipal)
                .values(
                    key_hash=self.hash_key(key),
                    key_prefix=key[:10],
                    role=role,
                    districts=",".join(codes),
                    label=label,
                    created_at=now,
                )
                .returning(ApiPrincipal.id)
            ).scalar_one()
        principal = self.get_principal(pid)
        assert principal is not None
        return principal, key

    def get_principal(self, principal_id: int) -> Principal | None:
        """A principal by id (active or revoked)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(ApiPrincipal).where(ApiPrincipal.id == principal_id)).first()
        return None if row is None else Principal.from_row(row)

    def get_principal_by_hash(self, key_hash: str) -> Principal | None:
        """The principal whose stored hash is ``key_hash`` (check ``.active`` before trusting it)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(ApiPrincipal).where(ApiPrincipal.key_hash == key_hash)
            ).first()
        return None if row is None else Principal.from_row(row)

    def get_principal_by_key(self, key: str) -> Principal | None:
        """The *active* principal holding ``key``; ``None`` for unknown or revoked keys."""
        principal = self.get_principal_by_hash(self.hash_key(key))
        return principal if principal is not None and principal.active else None

    def revoke_principal(self, principal_id: int) -> bool:
        """Revoke a key; ``False`` if unknown or already revoked."""
        with self.engine.begin() as conn:
            res = conn.execute(
                update(ApiPrincipal)
                .where(ApiPrincipal.id == principal_id, ApiPrincipal.revoked_at.is_(None))
                .values(revoked_at=dt.datetime.now(dt.UTC))
            )
        return res.rowcount == 1

    revoke = revoke_principal

    def list_principals(self, include_revoked: bool = True) -> list[Principal]:
        """All principals, oldest first."""
        stmt = select(ApiPrincipal).order_by(ApiPrincipal.id)
        if not include_revoked:
            stmt = stmt.where(ApiPrincipal.revoked_at.is_(None))
        with self.engine.connect() as conn:
            return [Principal.from_row(r) for r in conn.execute(stmt)]

    # -- audit ------------------------------------------------------------------------------
    def add_audit(
        self,
        principal_id: int | None,
        endpoint: str,
        firms: Sequence[str],
        at: dt.datetime | None = None,
    ) -> None:
        """Record that ``principal_id`` received confidential fields of ``firms`` at ``endpoint``."""
        self.add_audit_many([(principal_id, endpoint, firms, at)])

    def add_audit_many(
        self, entries: Iterable[tuple[int | None, str, Sequence[str], dt.datetime | None]]
    ) -> int:
        """Write several audit records in one transaction (for a buffered API writer)."""
        now = dt.datetime.now(dt.UTC)
        rows = [
            {
                "principal_id": pid,
                "endpoint": endpoint,
                "firms": ",".join(firms),
                "n_firms": len(firms),
                "at": at or now,
            }
            for pid, endpoint, firms, at in entries
        ]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(insert(AuditLog), rows)
        return len(rows)

    def tail_audit(self, n: int = 20, principal_id: int | None = None) -> list[AuditEntry]:
        """The last ``n`` audit records, newest first."""
        stmt = select(AuditLog).order_by(AuditLog.id.desc()).limit(n)
        if principal_id is not None:
            stmt = stmt.where(AuditLog.principal_id == principal_id)
        with self.engine.connect() as conn:
            return [AuditEntry.from_row(r) for r in conn.execute(stmt)]


class _Aborted(Exception):
    """The run failed before its folder was complete: roll the staged rows back."""


class StagedPublish:
    """A run's firm rows loaded in one background transaction that commits only after
    :meth:`complete` is given the finished folder.

    Why: loading ~1 M rows is most of publishing a batch, and it needs only the scores, which
    exist before the run folder's other files are written; the load overlaps with that writing.
    The invariant of ``Store.publish_run`` holds: nothing is visible until the folder is
    complete (``complete`` runs after ``runfolder.building`` renamed it into place), and a failure
    anywhere — the caller's (:meth:`abort`) or the load's — rolls everything back, so the last
    published run keeps serving. The connection lives in the worker thread only.
    """

    def __init__(
        self,
        store: Store,
        run_id: str,
        scores: pl.DataFrame,
        *,
        as_of: dt.date,
        created_at: dt.datetime,
    ) -> None:
        import queue
        import threading

        self.run_id = run_id
        self._store, self._scores = store, scores
        self._as_of, self._created_at = as_of, created_at
        self._go: queue.Queue[Path | None] = queue.Queue()
        self._result: PublishResult | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="staged-publish", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from tiering.store.publish import finish_staged, stage_run

        try:
            self._store.upgrade()
            with self._store.engine.begin() as conn:
                staged = stage_run(
                    conn, self.run_id, self._scores, as_of=self._as_of, created_at=self._created_at
                )
                run_dir = self._go.get()
                if run_dir is None:
                    raise _Aborted
                if staged:
                    self._result = finish_staged(conn, run_dir, self._scores.height)
                else:  # already in the store: publishing decides (no-op or refusal)
                    self._result = publish_run(conn, run_dir, self._scores)
        except _Aborted:
            pass
        except BaseException as exc:  # re-raised by complete()
            self._error = exc

    def complete(self, run_dir: Path | str) -> PublishResult:
        """Finish with the complete ``run_dir`` and commit; re-raises the load's failure."""
        self._go.put(Path(run_dir))
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    def abort(self) -> None:
        """Roll back (the run failed before its folder was complete)."""
        self._go.put(None)
        self._thread.join()
