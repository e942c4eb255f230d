"""The one weekly decision function of a (macro actor, micro layer) pair, and its returns through the backtest engine.

Validation, checkpoint selection, early stopping, the registry's champion score, the backtest and the rebalance all
score this function on the same calendar through the same simulator (:func:`hrl_sarp.backtest.engine.run_strategy`,
decisions at week ends plus the span's first row):

- macro: :func:`hrl_sarp.rl.layers.macro_goal_schedule` decides at every week end (data up to that close; the
  previous allocation as "current sector weights", drawdown 0) and the goal holds until the next week end;
- micro: the layer's proposal at a decision row t for the goal in force, with the system's own target at the
  previous week end as its holdings (a chain that starts in cash at the first week end), then the simulator's risk
  pipeline (:meth:`~hrl_sarp.envs.simulator.PortfolioSimulator.risk_adjust`);
- the drawdown rule depends on a portfolio's NAV path and is applied by the simulator that executes the targets.

Shapes: T dates, N stocks, S sectors, W week ends, D embedding size.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from hrl_sarp.backtest.baselines import Strategy
from hrl_sarp.backtest.engine import StrategyResult, run_strategy
from hrl_sarp.config import Config
from hrl_sarp.envs.goals import MicroLayer
from hrl_sarp.envs.simulator import MarketArrays, PortfolioSimulator
from hrl_sarp.features.arrays import FeatureArrays
from hrl_sarp.rl.layers import Actor, macro_goal_schedule
from hrl_sarp.threads import single_thread


@dataclass(frozen=True)
class SystemDecisions:
    """Every decision of a system over one feature build.

    week_rows (W,) week-end rows; week_targets (W, N) target weights decided at them (after the risk pipeline);
    goals (T, S) macro sector weights in force at each row; regimes (T,) regime calls in force at each row.
    """

    week_rows: np.ndarray
    week_targets: np.ndarray
    goals: np.ndarray
    regimes: np.ndarray


def decision_rows(arrays: FeatureArrays, first: int, last: int) -> np.ndarray:
    """Decision rows of a span whose sessions are ``first + 1 .. last``: ``first`` and the week ends before ``last``."""
    weeks = np.asarray(arrays.week_end_index, dtype=np.int64)
    return np.unique(np.concatenate([[first], weeks[(weeks >= first) & (weeks < last)]]))


class DecisionPath:
    """The weekly decisions of ``macro_actor`` + ``micro_layer`` over ``arrays`` with ``embeddings (W, S, D)``
    aligned to ``arrays.week_end_index`` (see the module docstring); pure in its inputs, computed once."""

    def __init__(
        self,
        macro_actor: Actor,
        micro_layer: MicroLayer,
        arrays: FeatureArrays,
        embeddings: np.ndarray,
        cfg: Config,
        market: MarketArrays | None = None,
    ):
        self.macro_actor = macro_actor
        self.micro_layer = micro_layer
        self.arrays = arrays
        self.embeddings = embeddings
        self.cfg = cfg
        self.market = market if market is not None else MarketArrays.from_features(arrays, cfg.risk)
        self._risk = PortfolioSimulator(self.market, cfg.costs, cfg.risk, cfg.env.initial_nav)
        self._decisions: SystemDecisions | None = None

    @property
    def decisions(self) -> SystemDecisions:
        if self._decisions is None:
            arrays = self.arrays
            weeks = np.asarray(arrays.week_end_index, dtype=np.int64)
            with single_thread():
                schedule = macro_goal_schedule(
                    self.macro_actor, arrays, self.embeddings, self.cfg, self.market.tradable
                )
                targets = np.zeros((len(weeks), arrays.n_stocks))
                held = np.zeros(arrays.n_stocks)
                for k, t in enumerate(weeks):
                    held = targets[k] = self._target(int(t), held, schedule.sector_weights, schedule.regimes)
            self._decisions = SystemDecisions(weeks, targets, schedule.sector_weights, schedule.regimes)
        return self._decisions

    def _target(self, t: int, held: np.ndarray, goals: np.ndarray, regimes: np.ndarray) -> np.ndarray:
        actor: Any = getattr(self.micro_layer, "actor", None)
        reset = getattr(actor, "reset", None)
        if reset is not None:
            reset()
        state = SimpleNamespace(weights=held, drawdown=0.0)
        proposal = self.micro_layer(t, goals[t], int(regimes[t]), 0, state)
        weights, _, _ = self._risk.risk_adjust(np.asarray(proposal, dtype=np.float64), t)
        return weights

    def target_weights(self, t: int) -> np.ndarray:
        """(N,) target stock weights decided at the close of row t (cash = 1 - sum), after the risk pipeline."""
        d = self.decisions
        k = int(np.searchsorted(d.week_rows, t, side="left"))
        if k < len(d.week_rows) and d.week_rows[k] == t:
            return d.week_targets[k].copy()
        held = d.week_targets[k - 1] if k > 0 else np.zeros(self.arrays.n_stocks)
        with single_thread():
            return self._target(int(t), held, d.goals, d.regimes)

    def strategy(self, name: str) -> Strategy:
        """A backtest strategy whose weights are :meth:`target_weights` (bound to this feature build)."""

        def weights(data: FeatureArrays, t: int, seed: int) -> np.ndarray:
            if data is not self.arrays:
                raise ValueError(f"the {name} strategy was bound to another feature build")
            return self.target_weights(t)

        return Strategy(name, weights)

    def run(self, first: int, last: int, name: str = "system") -> StrategyResult:
        """The decisions executed from cash at the close of ``first`` through the close of ``last`` (sessions
        ``first + 1 .. last``), deciding at :func:`decision_rows`."""
        cfg = self.cfg
        rows = decision_rows(self.arrays, first, last)
        return run_strategy(
            self.arrays, self.strategy(name), first + 1, last + 1, cfg.costs, cfg.risk, rows, 0, self.market
        )

    def regime_hits(self, first: int, last: int) -> np.ndarray:
        """(K,) bool per week end w_k in ``[first, last)`` with a next week end w_{k+1} <= last: the call made at
        w_k equals the realised regime of the week ending at w_{k+1}."""
        d = self.decisions
        weeks = d.week_rows
        inside = np.flatnonzero((weeks >= first) & (weeks < last))
        inside = inside[(inside + 1 < len(weeks))]
        inside = inside[weeks[inside + 1] <= last]
        realised = np.asarray(self.arrays.regime_labels)[weeks[inside + 1]]
        return d.regimes[weeks[inside]] == realised
