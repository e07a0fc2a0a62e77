"""The 四上 roster (spec §8): the statistics bureau's annual review of who reports.

Why it is not just "revenue ≥ line": the roster is reviewed once a year on the previous year's
figure, so it lags. A unit above its line is taken in the next reporting year — but not every
such unit is found at once (隐形规上: some meet the line for a year or two before the district
brings them in, more often where service coverage is poor); a unit whose annual figure falls below
its line is marked 退规 and leaves for the next year (the simulator writes that year's row with
``in_roster`` false so the exit is visible). Construction (qualification) and real estate
(development activity) enter on their flags, not on money.
"""

from __future__ import annotations

import numpy as np

from tiering.simulate.population import Population

__all__ = ["KIND_LABELS", "four_above_scope", "meets_line", "step_roster"]

KIND_LABELS = ("工业", "批发", "零售", "住宿", "餐饮", "服务业", "建筑业", "房地产")
_SVC_A = {f"{d:02d}" for d in (*range(53, 61), 63, 64, 65, 76, 77, 78, 79, 84)}
_SVC_B = {f"{d:02d}" for d in (71, 72, 73, 74, 75, 83)}
_SVC_C = {f"{d:02d}" for d in (80, 81, 82, 85, 86, 87, 88, 89, 90)}


def four_above_scope(pop: Population) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per firm: roster kind (index into KIND_LABELS, −1 out of scope), measure, line.

    measure: 0 = main revenue, 1 = revenue, 2 = construction qualification flag,
    3 = real-estate activity flag.

    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> p = SimpleNamespace(section=np.array(["C", "F", "M", "A"]),
    ...     division=np.array(["39", "52", "73", "01"]), industry=np.array(["3976", "5211", "7320", "0111"]))
    >>> kind, measure, line = four_above_scope(p)
    >>> kind.tolist(), measure.tolist(), line.tolist()
    ([0, 2, 5, -1], [0, 0, 1, 0], [2000.0, 500.0, 1000.0, inf])
    """
    sec, div, ind = pop.section, pop.division, pop.industry
    n = len(sec)
    kind = np.full(n, -1, dtype=np.int8)
    measure = np.zeros(n, dtype=np.int8)
    line = np.full(n, np.inf)

    def put(mask: np.ndarray, k: int, m: int, value: float) -> None:
        kind[mask], measure[mask], line[mask] = k, m, value

    put(np.isin(sec, ["B", "C", "D"]), 0, 0, 2000.0)
    put(div == "51", 1, 0, 2000.0)
    put(div == "52", 2, 0, 500.0)
    put(div == "61", 3, 0, 200.0)
    put(div == "62", 4, 0, 200.0)
    put(np.isin(div, list(_SVC_A)), 5, 1, 2000.0)
    put(np.isin(div, list(_SVC_B)) | np.isin(ind, ["7020", "7030", "7040", "7090"]), 5, 1, 1000.0)
    put(np.isin(div, list(_SVC_C)), 5, 1, 500.0)
    put(sec == "E", 6, 2, 0.0)
    put(ind == "7010", 7, 3, 0.0)
    return kind, measure, line


def meets_line(
    measure: np.ndarray,
    line: np.ndarray,
    revenue: np.ndarray,
    main_revenue: np.ndarray,
    construction: np.ndarray,
    real_estate: np.ndarray,
) -> np.ndarray:
    """Whether each firm meets its 四上 line on one year's figures (out of scope → False)."""
    money = np.where(measure == 0, main_revenue, revenue)
    return np.select(
        [measure == 2, measure == 3],
        [construction, real_estate],
        money >= line,
    ) & np.isfinite(line)


def step_roster(
    idx: np.ndarray,
    met_last_year: np.ndarray,
    on_last_year: np.ndarray,
    engagement: np.ndarray,
    coverage: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Roster of the reporting year for active firms ``idx``.

    Returns (written: which of ``idx`` get a row, in_roster for those rows). A firm on last
    year's roster stays while it meets the line, else gets a 退规 row (in_roster false); a firm
    meeting the line but not on the roster is taken in with a probability that grows with
    district service coverage and its own engagement.
    """
    met, on = met_last_year[idx], on_last_year[idx]
    p_take = 1.0 / (1.0 + np.exp(-(1.0 + 0.8 * coverage[idx] + 0.4 * engagement[idx])))
    taken = met & ~on & (rng.random(len(idx)) < p_take)
    in_roster = (on & met) | taken
    written = in_roster | on
    return written, in_roster[written]
