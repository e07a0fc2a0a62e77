"""The numpy backend's gap texts are built on access, with the values the eager form gives."""

from __future__ import annotations

import numpy as np
import pytest

from tiering.engine_small import _LazyTexts


def _blocks(calls: list[int]):
    def block(b: int):
        def build() -> np.ndarray:
            calls.append(b)
            return np.array([f"c{b}r{r}" if r % 2 else None for r in range(3)], dtype=object)

        return build

    return [block(b) for b in range(4)]


def test_an_item_builds_only_its_criterion_block_once() -> None:
    calls: list[int] = []
    texts = _LazyTexts(_blocks(calls), 3)
    assert len(texts) == 12
    assert texts[7] == "c2r1" and texts[6] is None and texts[-1] is None
    assert calls == [2, 3]
    assert texts[8] is None and calls == [2, 3]


def test_iteration_and_slices_equal_the_eager_column() -> None:
    calls: list[int] = []
    texts = _LazyTexts(_blocks(calls), 3)
    eager = [f"c{b}r{r}" if r % 2 else None for b in range(4) for r in range(3)]
    assert list(texts) == eager
    assert texts[2:9] == eager[2:9]
    assert sorted(set(calls)) == [0, 1, 2, 3]
    with pytest.raises(IndexError):
        texts[12]
