import dataclasses

import numpy as np
import pytest

from hrl_sarp.config import CostConfig, RiskConfig
from hrl_sarp.envs.costs import CostModel
from hrl_sarp.envs.risk import historical_cvar
from hrl_sarp.envs.simulator import MarketArrays, PortfolioSimulator, simulate

LOOSE = RiskConfig(sector_cap=1.0, stock_cap=1.0, min_cash=0.02, cvar_budget=0.99)


def _two_stock_arrays(make_arrays):
    base = make_arrays(n_dates=4, n_stocks=2, n_sectors=2)
    close = np.array([[100.0, 50.0], [104.0, 51.0], [101.0, 52.0], [103.0, 50.0]])
    open_ = np.array([[100.0, 50.0], [102.0, 49.0], [103.0, 51.5], [102.0, 50.5]])
    return dataclasses.replace(base, close=close, open=open_), close, open_


def test_fills_at_next_open_with_costs_share_accounting(make_arrays):
    arrays, close, open_ = _two_stock_arrays(make_arrays)
    model = CostModel.from_config(CostConfig())
    sim = PortfolioSimulator(arrays, CostConfig(), LOOSE, initial_nav=1_000_000.0)
    sim.reset(0)

    # step 1: from cash to 49% / 49% at the open of row 1
    res = sim.step(np.array([0.5, 0.5]), 0)
    cost1 = model.cost(980_000.0, 0.0)
    shares = np.array([490_000.0, 490_000.0]) / open_[1]
    cash = 1_000_000.0 - 980_000.0 - cost1
    nav1 = cash + shares @ close[1]
    assert res.nav == pytest.approx(nav1, rel=1e-13)
    assert res.cost_value == pytest.approx(cost1, rel=1e-13)
    assert res.turnover == pytest.approx(0.98, abs=1e-15)
    np.testing.assert_allclose(res.weights, [0.49, 0.49], atol=1e-15)

    # step 2: hold, positions earn close(1) -> close(2) without costs
    res = sim.step(None, 1)
    nav2 = cash + shares @ close[2]
    assert res.nav == pytest.approx(nav2, rel=1e-13)
    assert res.cost == 0.0

    # step 3: rebalance to 19.6% / 78.4% (proposal 0.2 / 0.8 scaled to 98%) at the open of row 3
    res = sim.step(np.array([0.2, 0.8]), 2)
    value_open = shares * open_[3]
    nav_open = cash + value_open.sum()
    target = np.array([0.196, 0.784]) * nav_open
    trade = target - value_open
    cost3 = model.cost(trade[trade > 0].sum(), -trade[trade < 0].sum())
    cash3 = nav_open - target.sum() - cost3
    nav3 = cash3 + (target / open_[3]) @ close[3]
    assert res.nav == pytest.approx(nav3, rel=1e-13)
    assert res.cost_value == pytest.approx(cost3, rel=1e-12)
    assert res.ret == pytest.approx(nav3 / nav2 - 1, rel=1e-12)
    assert sim.cash == pytest.approx(cash3 / nav3, rel=1e-12)


def test_stock_and_sector_caps_and_min_cash_bind(make_arrays):
    arrays = make_arrays(n_dates=40, n_stocks=20, n_sectors=4)
    sim = PortfolioSimulator(arrays, CostConfig(), RiskConfig(cvar_budget=0.5))
    sim.reset(30)
    target = np.full(20, 0.05)
    target[0] = 10.0  # wants everything in one stock
    target[[4, 8, 12, 16]] = 1.0  # same sector (0) as stock 0
    res = sim.step(target)
    w = res.weights
    assert w[0] == pytest.approx(0.10, abs=1e-12)
    assert w.max() <= 0.10 + 1e-12
    sector = np.bincount(arrays.stock_sector, weights=w)
    assert sector[0] == pytest.approx(0.35, abs=1e-12)
    np.testing.assert_allclose(w[[4, 8, 12, 16]], 0.0625, atol=1e-12)  # (0.35 - 0.10) / 4: renormalised inside
    assert w.sum() == pytest.approx(0.98, abs=1e-12)  # 2% minimum cash
    # the other 0.63 spread evenly over the 15 equal proposals of sectors 1..3
    np.testing.assert_allclose(np.delete(w, [0, 4, 8, 12, 16]), 0.63 / 15, atol=1e-12)
    assert sim.cash == pytest.approx(0.02 - res.cost, abs=2e-3)


def test_infeasible_caps_leave_cash(make_arrays):
    arrays = make_arrays(n_dates=40, n_stocks=20, n_sectors=4)
    sim = PortfolioSimulator(arrays, CostConfig(), RiskConfig(cvar_budget=0.5))
    sim.reset(30)
    target = np.zeros(20)
    target[[1, 2, 3]] = 1.0
    res = sim.step(target)
    np.testing.assert_allclose(res.weights[[1, 2, 3]], 0.10, atol=1e-12)
    assert res.cash > 0.69


def test_liquidity_filter_binds(make_arrays):
    arrays = make_arrays(n_dates=40, n_stocks=8, n_sectors=2)  # ADV = 1e6 * (i + 1)
    risk = RiskConfig(stock_cap=1.0, sector_cap=1.0, min_adv_value=3.5e6, cvar_budget=0.5)
    market = MarketArrays.from_features(arrays, risk)
    assert market.tradable[10].tolist() == [False, False, False, True, True, True, True, True]
    sim = PortfolioSimulator(market, CostConfig(), risk)
    sim.reset(10)
    res = sim.step(np.full(8, 1.0))
    np.testing.assert_allclose(res.weights[:3], 0.0)
    np.testing.assert_allclose(res.weights[3:], 0.98 / 5, atol=1e-15)


def test_cvar_budget_binds(make_arrays):
    arrays = make_arrays(n_dates=100, n_stocks=10, n_sectors=5, vol=0.05)
    risk = RiskConfig(stock_cap=1.0, sector_cap=1.0, cvar_budget=0.02, cvar_window_days=60)
    sim = PortfolioSimulator(arrays, CostConfig(), risk)
    sim.reset(80)
    res = sim.step(np.ones(10))
    assert res.cvar_scale < 1.0
    assert res.cvar > 0.02
    window = sim.market.returns[21:81]
    assert historical_cvar(window @ res.weights) == pytest.approx(0.02, abs=1e-12)
    assert res.weights.sum() == pytest.approx(0.98 * res.cvar_scale, abs=1e-12)


def _crash_and_recovery(make_arrays):
    base = make_arrays(n_dates=60, n_stocks=4, n_sectors=2)
    daily = np.zeros(60)
    daily[11:15] = -0.03  # about -11.5% from the peak
    daily[15:] = 0.02
    path = np.cumprod(1 + daily)
    close = 100.0 * np.tile(path[:, None], (1, 4))
    open_ = np.vstack([close[:1], close[:-1]])  # no overnight gap: all of the move is intraday
    return dataclasses.replace(base, close=close, open=open_), daily


def test_drawdown_gate_closes_and_reopens(make_arrays):
    arrays, daily = _crash_and_recovery(make_arrays)
    risk = RiskConfig(stock_cap=1.0, sector_cap=1.0, cvar_budget=0.99, drawdown_rule="gate")
    sim = PortfolioSimulator(arrays, CostConfig(), risk)
    sim.reset(5)
    invested, dds = [], []
    for _ in range(40):
        res = sim.step(np.ones(4))
        invested.append(res.weights.sum())
        dds.append(res.drawdown)
    invested = np.array(invested)
    first_gated = int(np.argmax(invested < 0.5))
    # the decision after the first close with drawdown > 7% goes to cash
    assert dds[first_gated - 1] > 0.07 and dds[first_gated - 2] <= 0.07
    assert invested[first_gated] == 0.0
    # reopens once the proposed portfolio's NAV is back within 3% of its peak, then invests 98% again
    reopened = first_gated + int(np.argmax(invested[first_gated:] > 0.5))
    assert invested[reopened] == pytest.approx(0.98, abs=1e-12)
    gate_path = np.cumprod(1 + daily[6:46])
    peak = np.maximum.accumulate(gate_path)
    assert 1 - gate_path[reopened - 1] / peak[reopened - 1] <= 0.03 + 2e-3
    assert 1 - gate_path[reopened - 2] / peak[reopened - 2] > 0.03


def test_simulate_matches_step_loop_and_holds_nan_rows(make_arrays):
    arrays = make_arrays(n_dates=80, n_stocks=6, n_sectors=3)
    rng = np.random.default_rng(1)
    schedule = rng.uniform(0, 1, (30, 6))
    schedule[1::2] = np.nan
    out = simulate(arrays, schedule, 40, CostConfig(), RiskConfig(), initial_nav=100.0)
    sim = PortfolioSimulator(arrays, CostConfig(), RiskConfig(), initial_nav=100.0)
    sim.reset(40)
    for k in range(30):
        res = sim.step(None if k % 2 else schedule[k])
        assert out.nav[k + 1] == res.nav
        if k % 2:
            assert out.costs[k] == 0.0
    np.testing.assert_allclose(np.cumprod(1 + out.returns) * 100.0, out.nav[1:], rtol=1e-12)


def test_drawdown_gate_peak_rolls_off_after_lookback(make_arrays):
    """After a crash with no recovery the gate reopens once the old peak leaves the lookback; with 0 it never does."""
    base = make_arrays(n_dates=80, n_stocks=4, n_sectors=2)
    daily = np.zeros(80)
    daily[11:15] = -0.03
    close = 100.0 * np.tile(np.cumprod(1 + daily)[:, None], (1, 4))
    arrays = dataclasses.replace(base, close=close, open=np.vstack([close[:1], close[:-1]]))

    def invested_path(lookback: int) -> np.ndarray:
        risk = RiskConfig(
            stock_cap=1.0, sector_cap=1.0, cvar_budget=0.99, drawdown_lookback_days=lookback, drawdown_rule="gate"
        )
        sim = PortfolioSimulator(arrays, CostConfig(), risk)
        sim.reset(5)
        return np.array([sim.step(np.ones(4)).weights.sum() for _ in range(70)])

    rolling, forever = invested_path(20), invested_path(0)
    first_gated = int(np.argmax(rolling < 0.5))
    assert first_gated > 0 and forever[first_gated] == 0.0
    assert (forever[first_gated:] == 0.0).all()
    reopened = first_gated + int(np.argmax(rolling[first_gated:] > 0.5))
    # the flat market after the crash: the peak leaves the 20-session window about 20 sessions after the top
    assert first_gated < reopened <= first_gated + 21
    assert rolling[reopened] == pytest.approx(0.98, abs=1e-12)


def test_scale_rule_shrinks_exposure_with_the_drawdown_and_never_sits_in_cash(make_arrays):
    """risk.drawdown_rule = scale: exposure = 0.98 x drawdown_exposure(drawdown of the unscaled proposal)."""
    from hrl_sarp.envs.risk import drawdown_exposure

    arrays, daily = _crash_and_recovery(make_arrays)
    risk = RiskConfig(stock_cap=1.0, sector_cap=1.0, cvar_budget=0.99, drawdown_rule="scale", overlay_floor=0.4)
    sim = PortfolioSimulator(arrays, CostConfig(), risk)
    sim.reset(5)
    invested = np.array([sim.step(np.ones(4)).weights.sum() for _ in range(40)])
    proposal_path = np.cumprod(1 + 0.98 * daily[6:46])  # the unscaled proposal (98% invested), gross of costs
    depth = 1 - proposal_path / np.maximum.accumulate(proposal_path)
    # the decision at step k sees the drawdown up to the close before it
    expected = np.array([0.98] + [0.98 * drawdown_exposure(d, 0.03, 0.07, 0.4) for d in depth[:-1]])
    np.testing.assert_allclose(invested, expected, atol=1e-9)
    assert invested.min() >= 0.98 * 0.4 - 1e-9 and invested.min() < 0.6  # scaled, never in cash
    assert invested[-1] == pytest.approx(0.98, abs=1e-9)  # back to full exposure after the recovery


def test_drawdown_exposure_is_linear_between_start_and_full():
    from hrl_sarp.envs.risk import drawdown_exposure

    assert drawdown_exposure(0.01, 0.03, 0.07, 0.5) == 1.0
    assert drawdown_exposure(0.05, 0.03, 0.07, 0.5) == pytest.approx(0.75)
    assert drawdown_exposure(0.07, 0.03, 0.07, 0.5) == pytest.approx(0.5)
    assert drawdown_exposure(0.30, 0.03, 0.07, 0.5) == 0.5


@pytest.mark.parametrize("rule", ["gate", "scale"])
def test_no_drawdown_means_holds_never_trade(make_arrays, rule):
    """A market rising 1% a day: held weights drift above the last proposal, and neither rule trims them."""
    base = make_arrays(n_dates=40, n_stocks=4, n_sectors=2)
    close = 100.0 * np.tile(np.cumprod(np.full(40, 1.01))[:, None], (1, 4))
    arrays = dataclasses.replace(base, close=close, open=np.vstack([close[:1], close[:-1]]))
    risk = RiskConfig(stock_cap=1.0, sector_cap=1.0, min_cash=0.0, cvar_budget=0.99, drawdown_rule=rule)
    schedule = np.full((30, 4), np.nan)
    schedule[0] = 1.0  # one decision, then holds
    out = simulate(arrays, schedule, 5, CostConfig(), risk)
    assert out.turnover[0] > 0.9 and (out.turnover[1:] == 0.0).all() and (out.costs[1:] == 0.0).all()
