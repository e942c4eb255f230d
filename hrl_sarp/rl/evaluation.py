"""Validation Sharpe of the whole hierarchy and of the equal-weight baseline, through the same simulator.

The system rollout is one deterministic MacroEnv episode over the validation rows: the macro actor decides each
week, the micro layer (a frozen micro policy or a rule) trades, costs and risk rules apply. Daily returns come from
the simulator's NAV at every session. Sharpe: :func:`hrl_sarp.backtest.metrics.sharpe` (annualised, ddof 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hrl_sarp.backtest.baselines import equal_weight
from hrl_sarp.backtest.metrics import sharpe
from hrl_sarp.config import Config
from hrl_sarp.envs.goals import MicroLayer
from hrl_sarp.envs.macro_env import MacroEnv
from hrl_sarp.envs.simulator import MarketArrays, PortfolioSimulator, simulate
from hrl_sarp.features.arrays import FeatureArrays
from hrl_sarp.rl.layers import Actor


@dataclass(frozen=True)
class Rollout:
    returns: np.ndarray  # (K,) daily returns, sessions date_range[0]+1 ..
    regime_hits: np.ndarray  # (weeks,) bool: the regime call matched the realised regime
    sector_weights: np.ndarray  # (weeks, S) macro allocations

    @property
    def sharpe(self) -> float:
        return sharpe(self.returns)

    @property
    def total_return(self) -> float:
        return float(np.prod(1.0 + self.returns) - 1.0)


class _NavRecorder:
    """Wraps a micro layer and records the NAV at each decision row (the close before the session's step)."""

    def __init__(self, layer: MicroLayer):
        self.layer = layer
        self.navs: list[float] = []

    def __call__(self, t: int, sector_weights, regime, day_in_step: int, simulator: PortfolioSimulator):
        self.navs.append(simulator.nav)
        return self.layer(t, sector_weights, regime, day_in_step, simulator)


def long_episode(cfg: Config) -> Config:
    """The config with macro episodes long enough to cover any date range in one episode."""
    return cfg.model_copy(update={"env": cfg.env.model_copy(update={"macro_episode_weeks": 10**6})})


def rollout_system(
    arrays: FeatureArrays,
    cfg: Config,
    macro_actor: Actor,
    micro_layer: MicroLayer,
    embeddings: np.ndarray | None,
    date_range: tuple[int, int],
    market: MarketArrays | None = None,
) -> Rollout:
    """One deterministic episode from ``date_range[0]`` to the last full macro step before ``date_range[1]``."""
    recorder = _NavRecorder(micro_layer)
    env = MacroEnv(arrays, long_episode(cfg), embeddings, recorder, date_range, market)
    reset = getattr(macro_actor, "reset", None)
    if reset is not None:
        reset()
    obs, _ = env.reset(options={"start": date_range[0]})
    hits, weights = [], []
    truncated = False
    while not truncated:
        obs, _, _, truncated, info = env.step(np.asarray(macro_actor(obs), dtype=np.float32))
        hits.append(info["regime"] == info["realised_regime"])
        weights.append(info["sector_weights"])
    navs = np.append(recorder.navs, env.sim.nav)
    return Rollout(navs[1:] / navs[:-1] - 1.0, np.asarray(hits), np.asarray(weights))


def equal_weight_returns(
    arrays: FeatureArrays, cfg: Config, start: int, n_days: int, market: MarketArrays | None = None
) -> np.ndarray:
    """(n_days,) daily returns of 1/n over the eligible names, rebalanced every ``env.macro_step_days`` sessions
    from ``start`` (held in between), through the same simulator, costs and risk rules."""
    schedule = np.full((n_days, arrays.n_stocks), np.nan)
    for k in range(0, n_days, cfg.env.macro_step_days):
        schedule[k] = equal_weight(arrays, start + k, min_adv_value=cfg.risk.min_adv_value)
    result = simulate(market or arrays, schedule, start, cfg.costs, cfg.risk, cfg.env.initial_nav)
    return result.returns


@dataclass
class SystemEvaluator:
    """Validation Sharpe of (macro actor, micro layer) pairs on fixed validation rows; the equal-weight Sharpe over
    the same sessions is computed once."""

    arrays: FeatureArrays
    cfg: Config
    embeddings: np.ndarray | None
    date_range: tuple[int, int]
    market: MarketArrays

    def __post_init__(self) -> None:
        self._ew: float | None = None

    def rollout(self, macro_actor: Actor, micro_layer: MicroLayer) -> Rollout:
        return rollout_system(
            self.arrays, self.cfg, macro_actor, micro_layer, self.embeddings, self.date_range, self.market
        )

    def sharpe(self, macro_actor: Actor, micro_layer: MicroLayer) -> float:
        return self.rollout(macro_actor, micro_layer).sharpe

    def equal_weight_sharpe(self, n_days: int | None = None) -> float:
        if self._ew is None:
            first, last = self.date_range
            step = self.cfg.env.macro_step_days
            n = n_days or ((last - first) // step) * step
            self._ew = sharpe(equal_weight_returns(self.arrays, self.cfg, first, n, self.market))
        return self._ew
