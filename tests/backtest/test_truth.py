"""Ground-truth skill: the drift a decision faces is the following week's, tilts are read as allocations."""

import numpy as np
import pytest

from hrl_sarp.backtest.truth import drift_faced, row_correlation, tilt_skill


def test_a_decision_at_a_week_end_faces_the_next_weeks_drift():
    dates = np.datetime64("2024-01-01") + np.arange(20).astype("timedelta64[D]")
    week_ends = np.array([4, 9, 14, 19])
    drift = np.arange(4 * 3, dtype=float).reshape(4, 3)  # week w's drift, sectors A B C
    faced = drift_faced(dates, week_ends, drift, np.array(["A", "B", "C"]), dates[[4, 9, 19, 6]], np.array(["C", "A"]))
    np.testing.assert_array_equal(faced[0], drift[1][[2, 0]])
    np.testing.assert_array_equal(faced[1], drift[2][[2, 0]])
    assert np.isnan(faced[2]).all()  # the last week has no following week
    assert np.isnan(faced[3]).all()  # not a week end of the generator's calendar


def test_tilt_skill_reads_the_invested_allocation_and_skips_cash_weeks():
    drift = np.array([[0.3, -0.1, -0.2], [0.0, 0.2, -0.2], [0.1, 0.0, -0.1]])
    equal = np.full(3, 1 / 3)
    weights = np.vstack(
        [
            0.5 * (equal + 0.5 * drift[0]),  # half in cash, tilted along the drift
            equal - 0.5 * drift[1],  # against it
            np.zeros(3),  # all cash: no allocation to judge
        ]
    )
    skill = tilt_skill(weights, drift)
    assert skill["truth_weeks"] == 2
    assert skill["drift_corr"] == pytest.approx(0.0, abs=1e-12)  # +1 and -1
    assert skill["active_share"] == pytest.approx(np.mean([0.5 * 0.5 * 0.6, 0.5 * 0.5 * 0.4]), abs=1e-12)
    assert np.isnan(row_correlation(np.ones((1, 3)), drift[:1])[0])


def test_strategy_skill_reports_every_seed():
    """Per strategy: the seed mean and spread of the drift correlation, and each seed's own figure, so a script can
    compare seeds one by one (for example RL against the pretrained networks)."""
    from types import SimpleNamespace

    from hrl_sarp.backtest.truth import PlantedDrift, strategy_skill

    dates = np.datetime64("2024-01-01") + np.arange(20).astype("timedelta64[D]")
    week_ends = np.array([4, 9, 14, 19])
    sectors = np.array(["A", "B", "C"])
    drift = np.array([[0.0, 0.0, 0.0], [0.3, -0.1, -0.2], [0.0, 0.2, -0.2], [0.1, 0.0, -0.1]])
    truth = PlantedDrift(dates, week_ends, drift, sectors)
    arrays = SimpleNamespace(week_end_index=week_ends, dates=dates, sectors=sectors)
    rows = np.arange(4, 20)  # the span runs from the first week end; weights are those held after each row
    equal = np.full(3, 1 / 3)

    def run(sign: float) -> SimpleNamespace:
        held = np.tile(equal, (len(rows), 1))
        for w in (0, 1):  # decisions at rows 4 and 9 face the drift of weeks 1 and 2
            held[week_ends[w] + 1 - rows[0]] = equal + sign * 0.5 * drift[w + 1]
        return SimpleNamespace(rows=rows, sector_weights=held)

    skill = strategy_skill({"along": [run(1.0), run(-1.0)]}, arrays, truth)["along"]
    assert skill["drift_corr_seeds"] == pytest.approx([1.0, -1.0])
    assert skill["drift_corr"] == pytest.approx(0.0, abs=1e-12) and skill["drift_corr_std"] == pytest.approx(1.0)
