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
