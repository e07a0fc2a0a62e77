"""Fixtures for the simulator tests: one small city without titles, one mid-size with titles."""

from __future__ import annotations

import pytest

from tiering.simulate import simulate, simulate_run

MID_N = 50_000


@pytest.fixture(scope="session")
def small_city():
    """2,000 firms, 2019–2025, no recognition rounds (fast; no rule engine)."""
    return simulate(2000, seed=11, years=(2019, 2025), recognitions=False)


@pytest.fixture(scope="session")
def mid_city():
    """50,000 firms with the recognition process (≈10 s CPU: the base-rate fixture)."""
    return simulate(MID_N, seed=3, years=(2019, 2025))


@pytest.fixture(scope="session")
def dirty_run():
    return simulate_run(1500, seed=5, years=(2021, 2024), dirty=0.02, recognitions=False)
