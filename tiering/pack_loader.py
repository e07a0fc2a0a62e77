"""Load and validate the shipped rule packs (YAML → strict models), once per process.

Why fail loudly: a pack with an unknown key, a wrong type, bands out of order, a verdict that
names a missing criterion or a formula that reads a column the assessment frame does not have
would silently mis-place firms. :func:`load_pack_file` raises :class:`~tiering.errors.PackError`
whose message names the file, the criterion and the field.

>>> "specialized-2026" in list_packs()
True
>>> load_pack("innovative-2022").pass_mark
60
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl
import yaml
from pydantic import ValidationError

from tiering.codes import industries
from tiering.compile import compile_pack
from tiering.errors import PackError
from tiering.formula import FormulaError, pack_error
from tiering.frame import frame_schema
from tiering.pack_model import FourAbovePack, Pack, Scope, SizePack

__all__ = [
    "DERIVED_COLUMNS",
    "EXTRA_COLUMNS",
    "KNOWN_COLUMNS",
    "REQUIRED_COLUMNS",
    "AnyPack",
    "list_packs",
    "load_pack",
    "load_pack_file",
    "pack_columns",
    "pack_metadata",
    "packs_dir",
]

AnyPack = Pack | SizePack | FourAbovePack

#: Columns the engine derives before evaluating packs (from ``industry`` and the §7 pack).
DERIVED_COLUMNS: dict[str, pl.DataType] = {
    "industry_section": pl.String(),
    "industry_division": pl.String(),
    "sei_field": pl.Boolean(),
    "size_class": pl.String(),
}
#: Optional inputs outside the §11 contract (null when absent).
#: ``sci_dishonesty_3y`` (科研严重失信 in the 3 years to D, TS-G3) and ``title_revoked_3y`` (a
#: ladder title revoked in the 3 years to D, EL-6 / spec §9) come from ``features.asof``.
EXTRA_COLUMNS: dict[str, pl.DataType] = {
    "products_allowed": pl.Boolean(),
    "sci_dishonesty_3y": pl.Boolean(),
    "title_revoked_3y": pl.Boolean(),
}
KNOWN_COLUMNS: dict[str, pl.DataType] = {**frame_schema(), **DERIVED_COLUMNS, **EXTRA_COLUMNS}

#: Columns a frame must carry whenever a pack reads them; every other column may be absent
#: (treated as null → the criteria reading it are ``unknown``/``manual_review``).
REQUIRED_COLUMNS: frozenset[str] = frozenset(
    {
        "uscc",
        "industry",
        "status",
        "employees_y1",
        "revenue_y1",
        "revenue_y2",
        "revenue_y3",
        "main_revenue_y1",
        "main_revenue_y2",
        "main_revenue_y3",
        "total_assets_y1",
        "total_liabilities_y1",
        "net_profit_y1",
        "rd_expense_y1",
        "rd_expense_y2",
        "rd_staff_y1",
        "class1_ip",
        "class2_ip",
    }
)


def packs_dir() -> Path:
    """Folder of the shipped pack YAML files."""
    return Path(str(resources.files("tiering") / "packs"))


def _criterion_at(raw: Any, loc: tuple) -> str | None:
    if len(loc) >= 2 and loc[0] == "criteria" and isinstance(loc[1], int):
        try:
            return str(raw["criteria"][loc[1]].get("id", f"#{loc[1]}"))
        except (KeyError, IndexError, TypeError, AttributeError):
            return f"#{loc[1]}"
    return None


def _from_validation(file: str, raw: Any, exc: ValidationError) -> PackError:
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    cid = _criterion_at(raw, loc)
    rest = loc[2:] if cid else loc
    field = ".".join(str(p) for p in rest if not (isinstance(p, str) and p[:1].isupper())) or "-"
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = f"unknown key “{loc[-1]}”"
    n = len(exc.errors())
    more = f" (and {n - 1} more problem{'s' * (n > 2)})" if n > 1 else ""
    return pack_error(file, cid, field, msg + more)


def _check_scope(file: str, owner: str, scope: Scope) -> None:
    ind = industries()
    known = {
        "sections": set(ind["section"]),
        "divisions": set(ind["division"]),
        "groups": set(ind["group"]),
        "classes": set(ind["code"]),
    }
    for level, have in known.items():
        bad = [c for c in getattr(scope, level) if c not in have]
        if bad:
            raise pack_error(file, None, f"{owner}.scope.{level}", f"unknown GB/T 4754 codes {bad}")


def _check_tier_pack(file: str, pack: Pack) -> None:
    """Compile every criterion once so that formula and column errors surface at load."""
    from tiering.formula import FormulaCompiler

    fc = FormulaCompiler(KNOWN_COLUMNS, dict(pack.parameters), dict(pack.derived))
    for name in pack.derived:
        try:
            fc.compile(name)
        except FormulaError as exc:
            raise pack_error(file, None, f"derived.{name}", str(exc)) from None
    for c in pack.criteria:
        try:
            for app in c.application:
                compile_pack(
                    Pack.model_construct(**{**pack.__dict__, "criteria": (c,)}),
                    KNOWN_COLUMNS,
                    year=None,
                    application=app,
                )
        except FormulaError as exc:
            raise pack_error(file, c.id, c.kind, str(exc)) from None
    for eid in pack.eligibility:
        if not eid.startswith("EL-"):
            raise pack_error(file, None, "eligibility", f"“{eid}” is not an EL criterion")


def load_pack_file(path: str | Path) -> AnyPack:
    """Parse and validate one pack file (raises :class:`PackError` naming file/criterion/field)."""
    path = Path(path)
    file = path.name
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise pack_error(file, None, "-", f"not valid YAML: {exc}") from None
    except OSError as exc:
        raise pack_error(file, None, "-", f"cannot read: {exc}") from None
    if not isinstance(raw, dict):
        raise pack_error(file, None, "-", "a pack must be a mapping")
    kind = raw.get("kind", "tier")
    model = {"size": SizePack, "four_above": FourAbovePack}.get(kind, Pack)
    try:
        pack = model.model_validate(raw)
    except ValidationError as exc:
        raise _from_validation(file, raw, exc) from None
    if pack.id != path.stem:
        raise pack_error(file, None, "id", f"id “{pack.id}” must equal the file name “{path.stem}”")
    if isinstance(pack, Pack):
        _check_tier_pack(file, pack)
    elif isinstance(pack, SizePack):
        _check_scope(file, "out_of_scope", pack.out_of_scope)
        for s in pack.sectors:
            _check_scope(file, f"sectors.{s.id}", s.scope)
    else:
        for g in pack.groups:
            _check_scope(file, f"groups.{g.id}", g.scope)
            if g.flag is not None and g.flag not in KNOWN_COLUMNS:
                raise pack_error(file, None, f"groups.{g.id}.flag", f"unknown column “{g.flag}”")
    return pack


@functools.cache
def _all() -> dict[str, AnyPack]:
    out: dict[str, AnyPack] = {}
    for p in sorted(packs_dir().glob("*.yaml")):
        if p.stem == "calendar":
            continue
        out[p.stem] = load_pack_file(p)
    return out


def list_packs() -> list[str]:
    """Ids of every shipped pack (tier packs, ``EL``, ``sme-size-2011``, ``four-above``)."""
    return sorted(_all())


def load_pack(pack_id: str) -> AnyPack:
    """A shipped pack by id (raises :class:`PackError` listing the known ids)."""
    packs = _all()
    if pack_id not in packs:
        raise PackError(
            f"未知规则包“{pack_id}”；可用：{', '.join(sorted(packs))}", field="pack", value=pack_id
        )
    return packs[pack_id]


def pack_columns(pack: Pack) -> dict[str, set[str]]:
    """``{frame column: {criterion ids reading it}}`` for schema checks and docs."""
    out: dict[str, set[str]] = {}
    for c in pack.criteria:
        for app in c.application:
            _, used = compile_pack(
                Pack.model_construct(**{**pack.__dict__, "criteria": (c,)}),
                KNOWN_COLUMNS,
                year=None,
                application=app,
            )
            for col in used:
                out.setdefault(col, set()).add(c.id)
    return out


def pack_metadata(pack_id: str) -> dict[str, Any]:
    """JSON-safe description of a pack for ``GET /v1/rules/packs`` and ``tiering rules show``."""
    pack = load_pack(pack_id)
    meta: dict[str, Any] = {
        "id": pack.id,
        "kind": getattr(pack, "kind", "tier"),
        "label": pack.label,
        "source": pack.source,
        "version": pack.version,
        "notes": pack.notes,
    }
    if isinstance(pack, Pack):
        meta |= {
            "tier": pack.tier,
            "effective": pack.effective.isoformat() if pack.effective else None,
            "parameters": dict(pack.parameters),
            "pass_mark": pack.pass_mark,
            "prerequisite": list(pack.prerequisite),
            "eligibility": list(pack.eligibility),
            "dimensions": [d.model_dump() for d in pack.dimensions],
            "criteria": [
                {
                    "id": c.id,
                    "label": c.label,
                    "source": c.source,
                    "role": c.role,
                    "kind": c.kind,
                    "dimension": c.dimension,
                    "max_points": c.max_points,
                    "application": list(c.application),
                    "rule": c.model_dump(
                        mode="json",
                        by_alias=True,
                        exclude_none=True,
                        include={c.kind, "review_test"},
                    ),
                }
                for c in pack.criteria
            ],
        }
    else:
        meta["rule"] = pack.model_dump(mode="json", exclude={"id", "label", "source", "version"})
    return meta
