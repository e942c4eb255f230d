import math

import numpy as np
import pytest

from hrl_sarp.backtest import metrics as m

R = np.array([0.01, -0.02, 0.03, 0.0, -0.01, 0.02])
B = np.array([0.005, -0.01, 0.01, 0.002, -0.004, 0.0])


def _mean(xs):
    return sum(xs) / len(xs)


def _sd(xs):
    mu = _mean(xs)
    return math.sqrt(sum((x - mu) ** 2 for x in xs) / (len(xs) - 1))


def test_each_metric_matches_a_hand_computation():
    r = list(R)
    growth = 1.0
    for x in r:
        growth *= 1 + x
    assert m.cagr(R) == pytest.approx(growth ** (252 / 6) - 1, rel=1e-12)
    assert m.volatility(R) == pytest.approx(_sd(r) * math.sqrt(252), rel=1e-12)
    assert m.sharpe(R) == pytest.approx(_mean(r) / _sd(r) * math.sqrt(252), rel=1e-12)
    downside = math.sqrt(sum(min(x, 0) ** 2 for x in r) / 6)
    assert m.sortino(R) == pytest.approx(_mean(r) / downside * math.sqrt(252), rel=1e-12)
    # NAV 1, 1.01, 0.9898, 1.019494, 1.019494, 1.00929906, 1.0294850412: peak 1.01 -> trough 0.9898
    assert m.max_drawdown(R) == pytest.approx(1 - 0.9898 / 1.01, rel=1e-12)
    assert m.calmar(R) == pytest.approx(m.cagr(R) / (1 - 0.9898 / 1.01), rel=1e-12)
    assert m.cvar95(R) == pytest.approx(0.02)  # ceil(5% of 6) = 1 worst day
    assert m.hit_rate(R) == pytest.approx(3 / 6)
    active = [x - y for x, y in zip(r, B, strict=True)]
    assert m.information_ratio(R, B) == pytest.approx(_mean(active) / _sd(active) * math.sqrt(252), rel=1e-12)
    assert m.annual_turnover(np.array([0.98, 0.0, 0.1, 0.0, 0.0, 0.1])) == pytest.approx(1.18 / 6 * 252)
    assert m.cost_drag(np.full(6, 1e-4)) == pytest.approx(252e-4)


def test_cvar_averages_the_worst_tail():
    r = np.linspace(-0.05, 0.05, 40)  # ceil(0.05 * 40) = 2 worst days
    assert m.cvar95(r) == pytest.approx(-(r[0] + r[1]) / 2)


def test_metric_table_has_fixed_names_and_is_finite_on_degenerate_input():
    flat = np.zeros(10)
    table = m.metric_table(flat, flat)
    assert tuple(table) == m.METRIC_NAMES
    assert all(np.isfinite(v) for v in table.values())
    assert table["sharpe"] == 0 and table["calmar"] == 0 and table["max_drawdown"] == 0
    full = m.metric_table(R, B, turnover=np.ones(6), costs=np.full(6, 2e-4))
    assert tuple(full) == m.METRIC_NAMES
    assert full["turnover"] == pytest.approx(252.0)
    assert full["cost_drag"] == pytest.approx(252 * 2e-4)


def test_total_loss_and_length_checks():
    assert m.cagr(np.array([0.1, -1.0])) == -1.0
    with pytest.raises(ValueError):
        m.information_ratio(R, B[:3])
    with pytest.raises(ValueError):
        m.sharpe(np.array([]))


def test_cash_share_and_exposure_from_the_invested_fraction():
    invested = np.array([0.98, 0.0, 0.0, 0.49, 0.98])
    assert m.cash_share(invested) == pytest.approx(0.4) and m.exposure(invested) == pytest.approx(0.49)
    r = np.array([0.01, 0.0, 0.0, -0.005, 0.002])
    table = m.metric_table(r, r, invested=invested)
    assert (table["cash_share"], table["exposure"]) == (pytest.approx(0.4), pytest.approx(0.49))
    held = m.metric_table(r, r)  # no invested fraction given: a held index, fully invested
    assert (held["cash_share"], held["exposure"]) == (0.0, 1.0)
