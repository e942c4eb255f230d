"""Run strategies through the shared portfolio simulator over the walk-forward test windows.

The test windows of a :class:`~hrl_sarp.backtest.splits.WalkForwardPlan` tile one out-of-sample span
``[test_start, test_end)``; each strategy is simulated once over the whole span (one continuous portfolio, starting
in cash at the close of ``test_start - 1``), so costs, risk rules, the drawdown gate and timing are exactly those of
:func:`hrl_sarp.envs.simulator.simulate`. Decisions are taken at rebalance rows (the last session of each week, plus
the first decision and the first decision of every fold, when a new model may take over); the simulator holds in
between. A fold-aware strategy (one model per fold) finds its fold with ``plan.fold_of(t)``.

Seeds: a ``seeded`` strategy (random, RL) runs once per seed; a deterministic one runs once and its spread is 0.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hrl_sarp.backtest.baselines import BENCHMARK, EQUAL_WEIGHT, Strategy, make_baselines
from hrl_sarp.backtest.bootstrap import BootstrapInterval, sharpe_difference_interval
from hrl_sarp.backtest.metrics import metric_table
from hrl_sarp.backtest.splits import WalkForwardPlan, walk_forward_splits
from hrl_sarp.config import BacktestConfig, Config, CostConfig, RiskConfig
from hrl_sarp.domain import METRIC_NAMES
from hrl_sarp.envs.simulator import MarketArrays, simulate
from hrl_sarp.errors import ConfigError
from hrl_sarp.features.arrays import FeatureArrays

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StrategyResult:
    """One strategy, one seed, over K realised sessions ``rows`` (K,).

    returns, costs, turnover: (K,) daily net return, cost as a fraction of NAV, two-sided turnover; nav: (K + 1,)
    starting at 1; weights: (K, N) executed stock weights and sector_weights (K, S) (None for the benchmark).
    """

    name: str
    seed: int
    rows: np.ndarray
    dates: np.ndarray
    returns: np.ndarray
    nav: np.ndarray
    costs: np.ndarray
    turnover: np.ndarray
    weights: np.ndarray | None
    sector_weights: np.ndarray | None
    metrics: dict[str, float]


@dataclass(frozen=True)
class BacktestResult:
    """All strategies over one plan: per-seed results, seed mean/spread tables and bootstrap intervals."""

    plan: WalkForwardPlan
    results: dict[str, list[StrategyResult]]
    sectors: np.ndarray
    benchmark_returns: np.ndarray
    intervals: dict[str, BootstrapInterval] = field(default_factory=dict)

    @property
    def strategies(self) -> list[str]:
        return list(self.results)

    @property
    def dates(self) -> np.ndarray:
        return next(iter(self.results.values()))[0].dates

    def mean_returns(self, name: str) -> np.ndarray:
        """(K,) daily return averaged over seeds (the return of an equal mix of the seed portfolios, rebalanced)."""
        return np.mean([r.returns for r in self.results[name]], axis=0)

    def table(self) -> pd.DataFrame:
        """One row per strategy: ``strategy``, ``n_seeds`` and every metric (mean over seeds), in METRIC_NAMES order."""
        rows = []
        for name, runs in self.results.items():
            values = np.array([[r.metrics[m] for m in METRIC_NAMES] for r in runs])
            rows.append(
                {"strategy": name, "n_seeds": len(runs), **dict(zip(METRIC_NAMES, values.mean(axis=0), strict=True))}
            )
        return pd.DataFrame(rows, columns=["strategy", "n_seeds", *METRIC_NAMES])

    def spread(self) -> pd.DataFrame:
        """Like :meth:`table` with the standard deviation over seeds (ddof 0; 0 for a single run)."""
        rows = []
        for name, runs in self.results.items():
            values = np.array([[r.metrics[m] for m in METRIC_NAMES] for r in runs])
            rows.append(
                {"strategy": name, "n_seeds": len(runs), **dict(zip(METRIC_NAMES, values.std(axis=0), strict=True))}
            )
        return pd.DataFrame(rows, columns=["strategy", "n_seeds", *METRIC_NAMES])

    def summary(self) -> dict[str, object]:
        """A small JSON-able summary for the CLI and flows: split, strategies, Sharpe (mean) and intervals."""
        table = self.table().set_index("strategy")
        return {
            "split": self.plan.description,
            "folds": len(self.plan.folds),
            "strategies": self.strategies,
            "sharpe": {name: round(float(table.loc[name, "sharpe"]), 4) for name in self.strategies},
            f"sharpe_diff_vs_{EQUAL_WEIGHT}": {
                name: [round(iv.low, 4), round(iv.estimate, 4), round(iv.high, 4)]
                for name, iv in self.intervals.items()
            },
        }

    def fold_table(self) -> pd.DataFrame:
        """Per strategy and fold: test dates, CAGR, Sharpe and max drawdown of the seed-mean daily returns."""
        from hrl_sarp.backtest.metrics import cagr, max_drawdown, sharpe

        start = self.plan.test_start
        rows = []
        for name in self.results:
            returns = self.mean_returns(name)
            for fold in self.plan.folds:
                r = returns[fold.test_start - start : fold.test_end - start]
                rows.append(
                    {
                        "strategy": name,
                        "fold": fold.index,
                        "test_from": str(self.dates[fold.test_start - start]),
                        "test_to": str(self.dates[fold.test_end - start - 1]),
                        "cagr": cagr(r),
                        "sharpe": sharpe(r),
                        "max_drawdown": max_drawdown(r),
                    }
                )
        return pd.DataFrame(rows)

    def flat_metrics(self) -> dict[str, float]:
        """``{strategy}.{metric}`` (mean), ``{strategy}.{metric}_std`` and the Sharpe-difference intervals."""
        out: dict[str, float] = {}
        mean, spread = self.table().set_index("strategy"), self.spread().set_index("strategy")
        for name in self.results:
            for m in METRIC_NAMES:
                out[f"{name}.{m}"] = float(mean.loc[name, m])
                out[f"{name}.{m}_std"] = float(spread.loc[name, m])
        for name, interval in self.intervals.items():
            for key, value in interval.as_dict().items():
                out[f"{name}.{key}_vs_{EQUAL_WEIGHT}"] = value
        return out


def rebalance_rows(arrays: FeatureArrays, plan: WalkForwardPlan, frequency: str = "weekly") -> np.ndarray:
    """Sorted decision rows in ``[test_start - 1, test_end - 2]`` at which strategies are asked for weights."""
    first, last = plan.test_start - 1, plan.test_end - 2
    if frequency == "daily":
        return np.arange(first, last + 1)
    weekly = np.asarray(arrays.week_end_index, dtype=np.int64)
    fold_starts = [f.test_start - 1 for f in plan.folds]
    rows = np.concatenate([weekly[(weekly >= first) & (weekly <= last)], fold_starts])
    return np.unique(rows)


def weight_schedule(
    arrays: FeatureArrays, strategy: Strategy, first_row: int, n_steps: int, decide_at: np.ndarray, seed: int
) -> np.ndarray:
    """(n_steps, N) targets for decision rows ``first_row ..``; NaN rows (hold) except at ``decide_at`` rows."""
    schedule = np.full((n_steps, arrays.n_stocks), np.nan)
    for t in decide_at:
        w = np.asarray(strategy.weights(arrays, int(t), seed), dtype=np.float64)
        if w.shape != (arrays.n_stocks,) or not np.all(np.isfinite(w)) or (w < 0).any():
            raise ValueError(f"strategy '{strategy.name}' gave invalid weights at row {t}")
        schedule[int(t) - first_row] = w
    return schedule


def run_strategy(
    arrays: FeatureArrays,
    strategy: Strategy,
    test_start: int,
    test_end: int,
    costs: CostConfig,
    risk: RiskConfig,
    decide_at: np.ndarray | None = None,
    seed: int = 0,
    market: MarketArrays | None = None,
) -> StrategyResult:
    """Simulate ``strategy`` from cash at the close of ``test_start - 1`` through the close of ``test_end - 1``.

    decide_at: decision rows (default every row); the first row ``test_start - 1`` is always a decision. Returns
    realised at rows ``test_start .. test_end - 1`` (K = test_end - test_start sessions).
    """
    first = test_start - 1
    n_steps = test_end - test_start
    if first < 0 or n_steps < 1:
        raise ValueError(f"test window [{test_start}, {test_end}) needs a row before it and at least one session")
    rows = np.arange(first, test_end - 1) if decide_at is None else np.asarray(decide_at, dtype=np.int64)
    rows = np.unique(np.concatenate([[first], rows[(rows >= first) & (rows < test_end - 1)]]))
    schedule = weight_schedule(arrays, strategy, first, n_steps, rows, seed)
    market = market if market is not None else MarketArrays.from_features(arrays, risk)
    sim = simulate(market, schedule, first, costs, risk)
    realised = np.arange(test_start, test_end)
    bench = np.nan_to_num(np.asarray(arrays.benchmark_returns[realised], dtype=np.float64), nan=0.0)
    sector_weights = sim.weights @ arrays.sector_membership().T
    return StrategyResult(
        name=strategy.name,
        seed=seed,
        rows=realised,
        dates=np.asarray(arrays.dates)[realised],
        returns=sim.returns,
        nav=sim.nav / sim.nav[0],
        costs=sim.costs,
        turnover=sim.turnover,
        weights=sim.weights,
        sector_weights=sector_weights,
        metrics=metric_table(sim.returns, bench, sim.turnover, sim.costs, invested=sim.weights.sum(axis=1)),
    )


def run_benchmark(arrays: FeatureArrays, test_start: int, test_end: int) -> StrategyResult:
    """Benchmark buy-and-hold: the index's own daily returns over rows ``[test_start, test_end)``.

    The benchmark is an index, not a stock in ``arrays``, so it is held as a return series: fully invested, no
    trading costs, no turnover, no stock weights.
    """
    realised = np.arange(test_start, test_end)
    returns = np.nan_to_num(np.asarray(arrays.benchmark_returns[realised], dtype=np.float64), nan=0.0)
    zeros = np.zeros_like(returns)
    return StrategyResult(
        name=BENCHMARK,
        seed=0,
        rows=realised,
        dates=np.asarray(arrays.dates)[realised],
        returns=returns,
        nav=np.concatenate([[1.0], np.cumprod(1.0 + returns)]),
        costs=zeros,
        turnover=zeros,
        weights=None,
        sector_weights=None,
        metrics=metric_table(returns, returns, zeros, zeros),
    )


def run_backtest(
    arrays: FeatureArrays,
    strategies: Sequence[Strategy],
    plan: WalkForwardPlan,
    backtest: BacktestConfig,
    costs: CostConfig,
    risk: RiskConfig,
    seeds: Sequence[int] | None = None,
    include_benchmark: bool = True,
) -> BacktestResult:
    """Every strategy (and the benchmark) over the plan's out-of-sample span, per seed, with bootstrap intervals.

    The Sharpe-difference interval against equal weight (when ``equal_weight`` is among the strategies) uses the
    seed-mean daily returns, paired, with ``backtest.bootstrap_*`` settings and the first seed.
    """
    seeds = list(backtest.seeds if seeds is None else seeds)
    names = [s.name for s in strategies]
    if len(set(names)) != len(names) or (include_benchmark and BENCHMARK in names):
        raise ValueError(f"strategy names must be unique and not '{BENCHMARK}': {names}")
    market = MarketArrays.from_features(arrays, risk)
    decide_at = rebalance_rows(arrays, plan, backtest.rebalance)
    results: dict[str, list[StrategyResult]] = {}
    if include_benchmark:
        results[BENCHMARK] = [run_benchmark(arrays, plan.test_start, plan.test_end)]
    for k, strategy in enumerate(strategies, start=1):
        began = time.perf_counter()
        results[strategy.name] = [
            run_strategy(
                arrays, strategy, plan.test_start, plan.test_end, costs, risk, decide_at, seed=seed, market=market
            )
            for seed in (seeds if strategy.seeded else seeds[:1])
        ]
        sharpes = [r.metrics["sharpe"] for r in results[strategy.name]]
        log.info(
            "backtest %d/%d %s: Sharpe %.3f over %d seed(s) in %.1f s",
            k, len(strategies), strategy.name, float(np.mean(sharpes)), len(sharpes), time.perf_counter() - began,
        )  # fmt: skip
    bench = np.nan_to_num(np.asarray(arrays.benchmark_returns[plan.test_start : plan.test_end], dtype=np.float64))
    partial_result = BacktestResult(plan, results, np.asarray(arrays.sectors), bench)
    intervals: dict[str, BootstrapInterval] = {}
    if EQUAL_WEIGHT in results and plan.test_end - plan.test_start >= 3:
        reference = partial_result.mean_returns(EQUAL_WEIGHT)
        for name in results:
            if name == EQUAL_WEIGHT:
                continue
            intervals[name] = sharpe_difference_interval(
                partial_result.mean_returns(name),
                reference,
                n_samples=backtest.bootstrap_samples,
                block_length=backtest.bootstrap_block_days,
                confidence=backtest.bootstrap_confidence,
                seed=seeds[0],
            )
    return BacktestResult(plan, results, np.asarray(arrays.sectors), bench, intervals)


def check_embargo(cfg: Config) -> None:
    """Raise :class:`ConfigError` when the embargo is shorter than the label horizon (labels would reach the test)."""
    if cfg.backtest.embargo_days < cfg.features.forward_horizon_days:
        raise ConfigError(
            f"backtest.embargo_days ({cfg.backtest.embargo_days}) is below features.forward_horizon_days "
            f"({cfg.features.forward_horizon_days}): training labels would reach into the test window"
        )


def backtest_from_config(
    arrays: FeatureArrays, cfg: Config, extra_strategies: Sequence[Strategy] = (), seeds: Sequence[int] | None = None
) -> BacktestResult:
    """Plan the walk-forward splits from ``cfg.backtest`` and run ``extra_strategies`` (e.g. HRL-SARP) first, then
    the benchmark and every baseline, with ``cfg.costs`` and ``cfg.risk``."""
    check_embargo(cfg)
    plan = walk_forward_splits(arrays.dates, cfg.backtest)
    strategies = [*extra_strategies, *make_baselines(cfg.backtest, cfg.risk)]
    return run_backtest(arrays, strategies, plan, cfg.backtest, cfg.costs, cfg.risk, seeds=seeds)
