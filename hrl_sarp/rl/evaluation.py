"""Validation Sharpe of the whole hierarchy and of the equal-weight baseline, on the deployed decision path.

A system is scored exactly as it is deployed (:mod:`hrl_sarp.rl.decisions`): its weekly decisions over the feature
build, executed over the validation rows by the backtest engine (:func:`hrl_sarp.backtest.engine.run_strategy`,
decisions at the span's first row and at week ends, costs and risk rules of the shared simulator). Equal weight
decides on the same rows. Sharpe: :func:`hrl_sarp.backtest.metrics.sharpe` (annualised, ddof 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hrl_sarp.backtest.baselines import EQUAL_WEIGHT, Strategy, equal_weight
from hrl_sarp.backtest.engine import run_strategy
from hrl_sarp.backtest.metrics import sharpe
from hrl_sarp.config import Config
from hrl_sarp.envs.goals import MicroLayer
from hrl_sarp.envs.simulator import MarketArrays
from hrl_sarp.features.arrays import FeatureArrays
from hrl_sarp.rl.decisions import DecisionPath, decision_rows
from hrl_sarp.rl.inputs import week_sector_inputs
from hrl_sarp.rl.layers import Actor


@dataclass(frozen=True)
class Rollout:
    returns: np.ndarray  # (K,) daily returns of sessions date_range[0]+1 .. date_range[1]
    regime_hits: np.ndarray  # (weeks,) bool: the regime call matched the realised regime
    sector_weights: np.ndarray  # (weeks, S) macro allocations decided at the span's week ends

    @property
    def sharpe(self) -> float:
        return sharpe(self.returns)

    @property
    def total_return(self) -> float:
        return float(np.prod(1.0 + self.returns) - 1.0)


def equal_weight_returns(
    arrays: FeatureArrays, cfg: Config, first: int, last: int, market: MarketArrays | None = None
) -> np.ndarray:
    """Daily returns of sessions ``first + 1 .. last`` of 1/n over the eligible names, decided on the rows the
    systems decide on (:func:`~hrl_sarp.rl.decisions.decision_rows`), through the same engine."""
    strategy = Strategy(EQUAL_WEIGHT, lambda data, t, seed: equal_weight(data, t, min_adv_value=cfg.risk.min_adv_value))
    rows = decision_rows(arrays, first, last)
    return run_strategy(arrays, strategy, first + 1, last + 1, cfg.costs, cfg.risk, rows, 0, market).returns


@dataclass
class SystemEvaluator:
    """Validation Sharpe of (macro actor, micro layer) pairs over fixed rows ``date_range = (first, last)``
    (sessions first + 1 .. last); the equal-weight Sharpe over the same sessions is computed once."""

    arrays: FeatureArrays
    cfg: Config
    embeddings: np.ndarray | None
    date_range: tuple[int, int]
    market: MarketArrays

    def __post_init__(self) -> None:
        self._ew: float | None = None
        # the macro agent's sector block, assembled once for every evaluation of the run
        self._sector_inputs = week_sector_inputs(self.cfg, self.arrays, self.embeddings)

    def path(self, macro_actor: Actor, micro_layer: MicroLayer) -> DecisionPath:
        return DecisionPath(macro_actor, micro_layer, self.arrays, self._sector_inputs, self.cfg, self.market)

    def rollout(self, macro_actor: Actor, micro_layer: MicroLayer) -> Rollout:
        first, last = self.date_range
        path = self.path(macro_actor, micro_layer)
        result = path.run(first, last)
        weeks = path.decisions.week_rows
        inside = weeks[(weeks >= first) & (weeks < last)]
        return Rollout(result.returns, path.regime_hits(first, last), path.decisions.goals[inside])

    def sharpe(self, macro_actor: Actor, micro_layer: MicroLayer) -> float:
        return self.rollout(macro_actor, micro_layer).sharpe

    def equal_weight_sharpe(self) -> float:
        if self._ew is None:
            first, last = self.date_range
            self._ew = sharpe(equal_weight_returns(self.arrays, self.cfg, first, last, self.market))
        return self._ew
