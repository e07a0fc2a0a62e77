"""Domain exceptions that name the thing that is wrong.

Why: a clerk or a commissioner must be able to act on an error. Every exception carries the
firm (row / uscc), the field, the offending value and the rule id where they are known; the batch
turns them into quarantine reasons, the API into a 422 with the same fields.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "FrameSchemaError",
    "InvalidCodeError",
    "PackError",
    "TieringError",
    "UsccError",
]


class TieringError(Exception):
    """Base class: carries structured context besides the human message."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        value: Any = None,
        rule: str | None = None,
        row: int | None = None,
        uscc: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.value = value
        self.rule = rule
        self.row = row
        self.uscc = uscc

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form used by API error bodies and quarantine rows."""
        return {
            "message": self.message,
            "field": self.field,
            "value": None if self.value is None else str(self.value),
            "rule": self.rule,
            "row": self.row,
            "uscc": self.uscc,
        }


class UsccError(TieringError, ValueError):
    """A 统一社会信用代码 that is malformed or whose check character is wrong."""


class InvalidCodeError(TieringError, ValueError):
    """An industry or district code that is not in the shipped code tables."""


class PackError(TieringError, ValueError):
    """A malformed rule pack: the message names file, criterion and field."""


class FrameSchemaError(TieringError, ValueError):
    """An assessment frame missing a column or carrying one of the wrong type."""
