"""The full evaluation: HRL-SARP (when trained), flat RL, the benchmark and every baseline over one walk-forward plan.

The trained system learnt on its training rows and was selected on its validation rows (``splits``), so its test
span starts after them: with a system, the plan's first test session is at least ``embargo_days`` after the last
validation date (the walk-forward folds then tile the held-out rows; every strategy is scored on the same
sessions). Without a system, the plan follows ``backtest`` alone and the summary says HRL-SARP is not trained yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hrl_sarp.backtest.baselines import BENCHMARK, EQUAL_WEIGHT, Strategy, make_baselines
from hrl_sarp.backtest.bootstrap import information_ratio_interval, sharpe_difference_interval
from hrl_sarp.backtest.engine import (
    BacktestResult,
    StrategyResult,
    check_embargo,
    run_backtest,
    run_strategy,
)
from hrl_sarp.backtest.flat_rl import FLAT_RL, FlatRlStrategy
from hrl_sarp.backtest.metrics import regime_scores
from hrl_sarp.backtest.ridge import RIDGE, RidgeStrategy
from hrl_sarp.backtest.splits import SplitError, WalkForwardPlan, walk_forward_splits
from hrl_sarp.backtest.truth import planted_drift, strategy_skill
from hrl_sarp.config import Config
from hrl_sarp.domain import METRIC_NAMES
from hrl_sarp.envs.simulator import MarketArrays
from hrl_sarp.features.arrays import FeatureArrays
from hrl_sarp.rl.decisions import decision_rows

HRL_SARP = "hrl_sarp"
PRETRAINED = "pretrained"
NOT_TRAINED = "not trained yet: run `hrl-sarp train --phase 1..5` (or `make demo`), then backtest again"


@dataclass
class Evaluation:
    """A backtest plus what the report and the registry need from it."""

    result: BacktestResult
    plan: WalkForwardPlan
    system_used: bool
    held_out_start: int | None = None
    regime_dates: np.ndarray | None = None  # (K,) dates the realised regimes refer to
    regime_called: np.ndarray | None = None  # (K,) codes called at the week end before
    regime_realised: np.ndarray | None = None  # (K,)
    hrl_targets: dict[int, np.ndarray] = field(default_factory=dict)  # decision row -> (N,) target weights
    truth: dict[str, dict[str, Any]] = field(default_factory=dict)  # strategy -> ground-truth skill (synthetic)
    ir_vs_equal_weight: dict[str, list[float]] = field(default_factory=dict)  # strategy -> [IR, low, high]

    def summary(self) -> dict[str, Any]:
        """JSON-able: the split used, every strategy name -> its metrics (seed mean), intervals, HRL-SARP status."""
        table = self.result.table().set_index("strategy")
        spread = self.result.spread().set_index("strategy")
        strategies: dict[str, Any] = {}
        for name in self.result.strategies:
            metrics = {m: round(float(table.loc[name, m]), 6) for m in METRIC_NAMES}
            metrics["n_seeds"] = int(table.loc[name, "n_seeds"])
            metrics["sharpe_std"] = round(float(spread.loc[name, "sharpe"]), 6)
            for key, value in self.truth.get(name, {}).items():
                metrics[key] = [round(v, 6) for v in value] if isinstance(value, list) else round(value, 6)
            strategies[name] = metrics
        if not self.system_used:
            strategies[HRL_SARP] = NOT_TRAINED
            strategies[PRETRAINED] = NOT_TRAINED
        elif PRETRAINED not in strategies:
            strategies[PRETRAINED] = "left out (no Phase 1/2 networks of this config)"
        if FLAT_RL not in strategies:
            strategies[FLAT_RL] = "left out (backtest.flat_rl_timesteps is 0)"
        base = self.result.summary()
        out: dict[str, Any] = {
            "split": self.plan.description,
            "folds": len(self.plan.folds),
            "strategies": strategies,
            "sharpe_diff_vs_equal_weight": base[next(k for k in base if k.startswith("sharpe_diff_vs_"))],
        }
        if self.ir_vs_equal_weight:
            out["information_ratio_vs_equal_weight"] = {
                k: [round(x, 4) for x in v] for k, v in self.ir_vs_equal_weight.items()
            }
        if self.regime_called is not None and len(self.regime_called):
            out["regime"] = regime_scores(self.regime_called, self.regime_realised)
            out["regime_hit_rate"] = out["regime"]["hit_rate"]
        return out


def _described(plan: WalkForwardPlan, system: Any, n_systems: int) -> WalkForwardPlan:
    """The plan with a description of what HRL-SARP's runs are: trained once per seed on fixed rows, not per fold."""
    meta = system.meta
    note = (
        f"; HRL-SARP ({n_systems} seed(s)) was trained once on {meta.get('train_first_date')}.."
        f"{meta.get('train_last_date')} and selected on {meta.get('val_first_date')}..{meta.get('val_last_date')}, "
        "not refit per fold (the folds refit the ridge and flat-RL baselines)"
    )
    return WalkForwardPlan(
        plan.folds, plan.mode, plan.train_days, plan.test_days, plan.embargo_days, plan.adapted, plan.description + note
    )


def plan_for(arrays: FeatureArrays, cfg: Config, held_out_start: int | None = None) -> WalkForwardPlan:
    """The walk-forward plan; with ``held_out_start`` its first test session is no earlier than that row."""
    bt = cfg.backtest
    if held_out_start is None:
        return walk_forward_splits(arrays.dates, bt)
    n = arrays.n_dates
    remaining = n - held_out_start
    if remaining < bt.min_test_days:
        raise SplitError(
            f"only {max(remaining, 0)} sessions after the trained system's validation rows (need min_test_days "
            f"{bt.min_test_days}): extend the data or lower splits.train_fraction / splits.val_fraction"
        )
    train_days = max(bt.train_days, held_out_start - bt.embargo_days)
    test_days = max(1, min(bt.test_days, n - bt.embargo_days - train_days))
    adjusted = bt.model_copy(
        update={"train_days": train_days, "test_days": test_days, "min_test_days": min(bt.min_test_days, test_days)}
    )
    plan = walk_forward_splits(arrays.dates, adjusted)
    note = "; test span starts after HRL-SARP's training and validation rows"
    return WalkForwardPlan(
        plan.folds, plan.mode, plan.train_days, plan.test_days, plan.embargo_days, plan.adapted, plan.description + note
    )


def regime_calls(
    system: Any, arrays: FeatureArrays, embeddings: np.ndarray, plan: WalkForwardPlan
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Regime called at each week end inside the test span vs the regime realised over the following week.

    Returns ``(dates (K,), called (K,), realised (K,))``: called at week end w_k, realised = the regime label of the
    trailing week ending at w_{k+1} (what MacroEnv scores), dated w_{k+1}.
    """
    decisions = system.decisions(arrays, embeddings)
    weeks = decisions.week_rows
    inside = np.flatnonzero((weeks >= plan.test_start - 1) & (weeks < plan.test_end - 1))
    inside = inside[inside + 1 < len(weeks)]
    inside = inside[weeks[inside + 1] < plan.test_end]  # the realised week ends inside the test span
    called = decisions.regimes[weeks[inside]]
    realised = np.asarray(arrays.regime_labels)[weeks[inside + 1]]
    return np.asarray(arrays.dates)[weeks[inside + 1]], called, realised


def _hrl_runs(
    arrays: FeatureArrays,
    cfg: Config,
    systems: dict[int, Any],
    embeddings: np.ndarray,
    plan: WalkForwardPlan,
    record_seed: int,
    targets: dict[int, np.ndarray],
    name: str = HRL_SARP,
) -> list[StrategyResult]:
    """One simulated run per trained system (keyed by its training seed); ``record_seed``'s targets are kept.

    A system decides on the rows validation scored it on (the span's first row and the week ends,
    :func:`~hrl_sarp.rl.decisions.decision_rows`): it is trained once, so fold starts are no decision points for it.
    """
    market = MarketArrays.from_features(arrays, cfg.risk)
    decide_at = decision_rows(arrays, plan.test_start - 1, plan.test_end - 1)
    runs = []
    for seed, system in systems.items():
        hrl = system.strategy(arrays, embeddings)

        def weights(data: FeatureArrays, t: int, _seed: int, hrl: Strategy = hrl, keep: bool = seed == record_seed):
            w = hrl.weights(data, t, _seed)
            if keep:
                targets[int(t)] = w.copy()
            return w

        strategy = Strategy(name, weights)
        runs.append(
            run_strategy(arrays, strategy, plan.test_start, plan.test_end, cfg.costs, cfg.risk, decide_at, seed, market)
        )
    return runs


def evaluate(
    arrays: FeatureArrays,
    cfg: Config,
    system: Any = None,
    embeddings: np.ndarray | None = None,
    seeds: Sequence[int] | None = None,
    flat_rl: FlatRlStrategy | bool = True,
    seed_systems: dict[int, Any] | None = None,
    pretrained: dict[int, Any] | None = None,
) -> Evaluation:
    """Run the backtest: HRL-SARP (``system`` with ``embeddings (W, S, D)``; ``seed_systems`` adds the systems
    trained with other seeds, ``{training seed: system}``, for a mean and spread over seeds), flat RL (unless
    disabled or ``backtest.flat_rl_timesteps`` is 0; a prepared :class:`FlatRlStrategy` may be passed), then the
    benchmark and every baseline, on the shared simulator with ``cfg.costs`` / ``cfg.risk``.

    ``pretrained``: ``{training seed: system}`` of the same hierarchies' Phase 1/2 networks without RL, scored like
    HRL-SARP as ``pretrained``.
    The report's regime calls and ``hrl_targets`` are those of ``system``; on synthetic data every strategy's
    ground-truth skill is added (:mod:`hrl_sarp.backtest.truth`).
    """
    check_embargo(cfg)
    systems: dict[int, Any] = {}
    if system is not None:
        if embeddings is None:
            raise ValueError("a trained system needs the sector embeddings")
        systems = {int(system.cfg.seed): system}
        for seed, other in (seed_systems or {}).items():
            systems.setdefault(int(seed), other)
    held = max(s.held_out_start(arrays) for s in systems.values()) if systems else None
    plan = plan_for(arrays, cfg, held)
    if system is not None:
        plan = _described(plan, system, len(systems))
    strategies = []
    if flat_rl is not False and cfg.backtest.flat_rl_timesteps > 0:
        flat = flat_rl if isinstance(flat_rl, FlatRlStrategy) else FlatRlStrategy(arrays, cfg, plan)
        if flat.plan.folds != plan.folds:
            raise ValueError("the flat-RL strategy was prepared for another walk-forward plan")
        strategies.append(flat.as_strategy())
    strategies += make_baselines(cfg.backtest, cfg.risk)
    strategies.append(RidgeStrategy(arrays, cfg, plan).as_strategy())
    result = run_backtest(arrays, strategies, plan, cfg.backtest, cfg.costs, cfg.risk, seeds=seeds)
    targets: dict[int, np.ndarray] = {}
    if systems:
        runs = _hrl_runs(arrays, cfg, systems, embeddings, plan, int(system.cfg.seed), targets)
        extra = {}
        if pretrained:
            extra[PRETRAINED] = _hrl_runs(arrays, cfg, pretrained, embeddings, plan, -1, {}, PRETRAINED)
        result = _with_hrl(result, runs, cfg, seeds, extra)
    evaluation = Evaluation(result, plan, bool(systems), held, hrl_targets=targets)
    bt = cfg.backtest
    if EQUAL_WEIGHT in result.results and len(result.dates) >= 3:
        for name in (HRL_SARP, PRETRAINED, RIDGE):
            if name in result.results:
                evaluation.ir_vs_equal_weight[name] = list(
                    information_ratio_interval(
                        result.mean_returns(name),
                        result.mean_returns(EQUAL_WEIGHT),
                        bt.bootstrap_samples,
                        bt.bootstrap_block_days,
                        bt.bootstrap_confidence,
                        list(bt.seeds if seeds is None else seeds)[0],
                    )
                )
    truth = planted_drift(cfg, arrays)
    if truth is not None:
        evaluation.truth = strategy_skill(result.results, arrays, truth)
    if system is not None:
        dates, called, realised = regime_calls(system, arrays, embeddings, plan)
        evaluation.regime_dates, evaluation.regime_called, evaluation.regime_realised = dates, called, realised
    return evaluation


def _with_hrl(
    result: BacktestResult,
    runs: list[StrategyResult],
    cfg: Config,
    seeds: Sequence[int] | None,
    extra: dict[str, list[StrategyResult]] | None = None,
) -> BacktestResult:
    """``result`` with HRL-SARP's runs (and ``extra`` systems, e.g. the pretrained networks) placed after the
    benchmark and their Sharpe-difference intervals added."""
    systems = {HRL_SARP: runs, **(extra or {})}
    ordered: dict[str, list[StrategyResult]] = {}
    for name, value in result.results.items():
        ordered[name] = value
        if name == BENCHMARK:
            ordered.update(systems)
    for name, value in systems.items():
        ordered.setdefault(name, value)
    merged = BacktestResult(result.plan, ordered, result.sectors, result.benchmark_returns)
    intervals = dict(result.intervals)
    bt = cfg.backtest
    for name in systems:
        if EQUAL_WEIGHT in ordered and len(merged.dates) >= 3:
            intervals[name] = sharpe_difference_interval(
                merged.mean_returns(name),
                merged.mean_returns(EQUAL_WEIGHT),
                n_samples=bt.bootstrap_samples,
                block_length=bt.bootstrap_block_days,
                confidence=bt.bootstrap_confidence,
                seed=list(bt.seeds if seeds is None else seeds)[0],
            )
    ordered_intervals = {name: intervals[name] for name in ordered if name in intervals}
    return BacktestResult(result.plan, ordered, result.sectors, result.benchmark_returns, ordered_intervals)
