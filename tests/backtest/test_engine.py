import dataclasses

import numpy as np
import pytest

from hrl_sarp.backtest.baselines import BENCHMARK, EQUAL_WEIGHT, RANDOM, Strategy, equal_weight, make_baselines
from hrl_sarp.backtest.engine import rebalance_rows, run_backtest, run_strategy
from hrl_sarp.backtest.splits import walk_forward_splits
from hrl_sarp.config import BacktestConfig, CostConfig, RiskConfig
from hrl_sarp.domain import METRIC_NAMES
from schemas.backtest import validate_backtest_table

# caps, CVaR budget and drawdown gate have their own tests in tests/envs; here they are set so they never bind
NO_BIND = RiskConfig(sector_cap=1.0, stock_cap=1.0, min_cash=0.02, cvar_budget=0.99, drawdown_gate=0.99,
                     drawdown_reenter=0.98)  # fmt: skip


def _hand_equal_weight(arrays, start, end, rebalance, min_cash=0.02):
    """Plain share accounting: decide at close t, trade at open t+1 with costs paid from cash, mark at close t+1."""
    c = CostConfig()
    bps = 1e-4
    common = c.exchange_bps + c.sebi_bps + c.brokerage_bps + c.gst_rate * (c.brokerage_bps + c.exchange_bps)
    buy_rate = (c.stt_buy_bps + c.stamp_duty_buy_bps + common + c.slippage_bps) * bps
    sell_rate = (c.stt_sell_bps + common + c.slippage_bps) * bps
    n = arrays.n_stocks
    cash, shares, nav_prev = 1.0, [0.0] * n, 1.0
    out_returns, out_costs = [], []
    for t in range(start - 1, end - 1):
        nav_open = cash + sum(shares[i] * arrays.open[t + 1, i] for i in range(n))
        cost = 0.0
        if t in rebalance:
            names = [i for i in range(n) if arrays.tradable[t, i]]
            for i in range(n):
                target_value = (1 - min_cash) / len(names) * nav_open if i in names else 0.0
                trade = target_value - shares[i] * arrays.open[t + 1, i]
                cost += buy_rate * trade if trade > 0 else -sell_rate * trade
                cash -= trade
                shares[i] = target_value / arrays.open[t + 1, i]
            cash -= cost
        nav = cash + sum(shares[i] * arrays.close[t + 1, i] for i in range(n))
        out_returns.append(nav / nav_prev - 1)
        out_costs.append(cost / nav_prev)
        nav_prev = nav
    return np.array(out_returns), np.array(out_costs)


def test_equal_weight_matches_hand_computation_with_costs(arrays):
    tradable = arrays.tradable.copy()
    tradable[200:260, 3] = False  # sold and bought back
    tradable[230:, 8] = False
    a = dataclasses.replace(arrays, tradable=tradable)
    cfg = BacktestConfig(train_days=150, test_days=100, embargo_days=5)
    plan = walk_forward_splits(a.dates, cfg)
    decide = rebalance_rows(a, plan, "weekly")
    result = run_strategy(a, Strategy(EQUAL_WEIGHT, equal_weight), plan.test_start, plan.test_end, CostConfig(),
                          NO_BIND, decide)  # fmt: skip
    hand_returns, hand_costs = _hand_equal_weight(a, plan.test_start, plan.test_end, set(decide.tolist()))
    assert len(result.returns) == plan.test_end - plan.test_start == 245
    np.testing.assert_allclose(result.returns, hand_returns, rtol=0, atol=1e-10)
    np.testing.assert_allclose(result.costs, hand_costs, rtol=0, atol=1e-10)
    np.testing.assert_allclose(result.nav[1:], np.cumprod(1 + hand_returns), rtol=0, atol=1e-10)
    assert result.costs[0] > 0 and (result.costs > 0).sum() > 40  # first buy + weekly drift rebalances
    assert result.sector_weights.shape == (245, a.n_sectors)
    np.testing.assert_allclose(result.sector_weights.sum(axis=1), result.weights.sum(axis=1))


def test_rebalance_rows_are_week_ends_plus_fold_starts(arrays):
    plan = walk_forward_splits(arrays.dates, BacktestConfig(train_days=150, test_days=100, embargo_days=5))
    rows = rebalance_rows(arrays, plan, "weekly")
    assert rows[0] == plan.test_start - 1 and rows[-1] <= plan.test_end - 2
    assert {f.test_start - 1 for f in plan.folds} <= set(rows.tolist())
    extra = set(rows.tolist()) - set(arrays.week_end_index.tolist())
    assert extra <= {f.test_start - 1 for f in plan.folds}
    weekdays = (arrays.dates[arrays.week_end_index[:-1]].view("int64") - 4) % 7
    assert set(weekdays.tolist()) == {4}  # the fixture's week ends are Fridays
    assert len(rebalance_rows(arrays, plan, "daily")) == plan.test_end - plan.test_start


def test_backtest_table_lists_every_strategy_and_metric_with_seed_spread(arrays):
    cfg = BacktestConfig(train_days=150, test_days=100, embargo_days=5, bootstrap_samples=200, seeds=[0, 1, 2])
    plan = walk_forward_splits(arrays.dates, cfg)
    strategies = make_baselines(cfg, RiskConfig())
    result = run_backtest(arrays, strategies, plan, cfg, CostConfig(), RiskConfig())
    table = validate_backtest_table(result.table())
    assert table["strategy"].tolist() == [BENCHMARK] + [s.name for s in strategies]
    assert list(table.columns[2:]) == list(METRIC_NAMES)
    assert table.set_index("strategy").loc[RANDOM, "n_seeds"] == 3
    spread = result.spread().set_index("strategy")
    assert spread.loc[RANDOM, "sharpe"] > 0 and spread.loc[EQUAL_WEIGHT, "sharpe"] == 0
    assert set(result.intervals) == set(table["strategy"]) - {EQUAL_WEIGHT}
    flat = result.flat_metrics()
    for name in table["strategy"]:
        assert all(f"{name}.{m}" in flat and f"{name}.{m}_std" in flat for m in METRIC_NAMES)
    bench = result.results[BENCHMARK][0]
    np.testing.assert_allclose(bench.returns, arrays.benchmark_returns[plan.test_start : plan.test_end])
    assert bench.metrics["turnover"] == 0 and bench.metrics["information_ratio"] == 0
    again = run_backtest(arrays, strategies, plan, cfg, CostConfig(), RiskConfig())
    assert again.table().equals(result.table())  # same seed, same data, same config -> same results


def test_invalid_weights_and_duplicate_names_raise(arrays):
    plan = walk_forward_splits(arrays.dates, BacktestConfig(train_days=150, test_days=100, embargo_days=5))
    bad = Strategy("bad", lambda a, t, seed: np.full(a.n_stocks, np.nan))
    with pytest.raises(ValueError, match="invalid weights"):
        run_strategy(arrays, bad, plan.test_start, plan.test_end, CostConfig(), RiskConfig())
    ew = Strategy(EQUAL_WEIGHT, equal_weight)
    with pytest.raises(ValueError, match="unique"):
        run_backtest(arrays, [ew, ew], plan, BacktestConfig(), CostConfig(), RiskConfig())


def test_fold_aware_strategy_and_fold_table(arrays):
    cfg = BacktestConfig(train_days=150, test_days=100, embargo_days=5, bootstrap_samples=50)
    plan = walk_forward_splits(arrays.dates, cfg)
    seen = []

    def per_fold(a, t, seed):  # one "model" per fold: fold 0 holds stock 0, later folds stock 1
        fold = plan.fold_of(t)
        seen.append((t, fold))
        w = np.zeros(a.n_stocks)
        w[min(fold, 1)] = 1.0
        return w

    result = run_backtest(arrays, [Strategy("per_fold", per_fold)], plan, cfg, CostConfig(), NO_BIND, seeds=[0])
    run = result.results["per_fold"][0]
    for fold in plan.folds:
        assert (fold.test_start - 1, fold.index) in seen  # every fold starts with its own decision
        held = run.weights[fold.test_start - plan.test_start]
        assert np.argmax(held) == min(fold.index, 1) and held.sum() == pytest.approx(0.98)
    folds = result.fold_table()
    assert len(folds) == 2 * len(plan.folds)  # benchmark + per_fold
    assert folds["test_from"].iloc[0] == str(arrays.dates[plan.test_start])


def test_embargo_shorter_than_the_label_horizon_is_a_config_error(arrays):
    from hrl_sarp.backtest.engine import backtest_from_config
    from hrl_sarp.config import load_config
    from hrl_sarp.errors import ConfigError

    cfg = load_config("demo", overrides={"backtest.embargo_days": 2})
    with pytest.raises(ConfigError, match="embargo_days"):
        backtest_from_config(arrays, cfg)
