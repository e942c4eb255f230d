"""Flat RL baseline: one PPO over all stocks, no hierarchy, trained per walk-forward fold and seed.

:class:`FlatEnv` is a weekly environment on the shared simulator (same costs, risk rules and timing as every
other strategy). Observation (F_flat,) float32 at the close of t = [stock features (N x F, stock-major) | macro
state (M)], each standardised with the mean and standard deviation of the fold's training rows (non-finite -> 0,
clipped to +-5). It carries no portfolio state, so the trained policy is a pure function of the data at t and the
backtest asks it for weights like any baseline. Action: Box(-1, 1, (N,)) stock logits -> ``softmax(logit_scale *
a)`` over the names tradable at t -> the simulator's risk pipeline; the proposal is traded at the first session of
the week and held for ``env.macro_step_days`` sessions. Reward: the week's log NAV growth net of costs, x 100.

Episodes of ``backtest.flat_rl_episode_weeks`` weeks start at week ends drawn from the fold's training rows only
(``[train_start, train_end)``: the last decision realises at ``train_end - 1``). PPO (SB3 ``MlpPolicy``) runs
``backtest.flat_rl_timesteps`` steps per fold and seed with the seed set for the policy, the sampler and the env.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from hrl_sarp.backtest.baselines import Strategy
from hrl_sarp.backtest.splits import Fold, WalkForwardPlan
from hrl_sarp.config import Config
from hrl_sarp.envs.simulator import MarketArrays, PortfolioSimulator
from hrl_sarp.envs.weights import masked_softmax
from hrl_sarp.features.arrays import FeatureArrays
from hrl_sarp.threads import single_thread

log = logging.getLogger(__name__)

FLAT_RL = "flat_rl"
_CLIP = 5.0


@dataclass(frozen=True)
class FlatInputs:
    """Standardised inputs for every row: features (T, N*F + M) float32 and the (mean, std) used."""

    features: np.ndarray
    mean: np.ndarray
    std: np.ndarray


def flat_inputs(arrays: FeatureArrays, train_rows: slice) -> FlatInputs:
    """(T, N*F + M) observations standardised with the statistics of ``train_rows`` only."""
    t = arrays.n_dates
    raw = np.concatenate(
        [np.asarray(arrays.stock_features, dtype=np.float64).reshape(t, -1), np.asarray(arrays.macro, np.float64)],
        axis=1,
    )
    raw = np.where(np.isfinite(raw), raw, np.nan)
    window = raw[train_rows]
    with np.errstate(all="ignore"):
        mean = np.nan_to_num(np.nanmean(window, axis=0), nan=0.0)
        std = np.nan_to_num(np.nanstd(window, axis=0), nan=1.0)
    std = np.where(std > 1e-8, std, 1.0)
    z = np.clip(np.nan_to_num((raw - mean) / std, nan=0.0), -_CLIP, _CLIP)
    return FlatInputs(z.astype(np.float32), mean, std)


class FlatEnv(gym.Env):
    """Weekly flat-allocation environment over rows ``[first, last]`` (see the module docstring)."""

    metadata = {"render_modes": []}

    def __init__(
        self,
        arrays: FeatureArrays,
        cfg: Config,
        inputs: FlatInputs,
        date_range: tuple[int, int],
        market: MarketArrays | None = None,
    ):
        super().__init__()
        self.market = market if market is not None else MarketArrays.from_features(arrays, cfg.risk)
        self.sim = PortfolioSimulator(self.market, cfg.costs, cfg.risk, cfg.env.initial_nav)
        self.inputs = inputs
        self.step_days = cfg.env.macro_step_days
        self.episode_weeks = cfg.backtest.flat_rl_episode_weeks
        self.logit_scale = cfg.env.logit_scale
        self.first, self.last = int(date_range[0]), int(date_range[1])
        weeks = np.asarray(arrays.week_end_index, dtype=np.int64)
        starts = weeks[(weeks >= self.first) & (weeks <= self.last - self.step_days)]
        self._starts = starts if len(starts) else np.array([self.first])
        n = arrays.n_stocks
        self.observation_space = spaces.Box(-_CLIP, _CLIP, (inputs.features.shape[1],), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (n,), np.float32)
        self._steps = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        start = int(options["start"]) if options and "start" in options else int(self.np_random.choice(self._starts))
        self.sim.reset(start)
        self._steps = 0
        return self.inputs.features[start], {"t": start}

    def step(self, action: np.ndarray):
        sim = self.sim
        nav0 = sim.nav
        proposal = masked_softmax(self.logit_scale * np.asarray(action, dtype=np.float64), self.market.tradable[sim.t])
        for day in range(self.step_days):
            if sim.t >= self.last:
                break
            sim.step(proposal if day == 0 else None)
        reward = 100.0 * float(np.log(max(sim.nav, 1e-12) / nav0))
        self._steps += 1
        truncated = self._steps >= self.episode_weeks or sim.t + self.step_days > self.last
        return self.inputs.features[sim.t], reward, False, truncated, {"nav": sim.nav}


@dataclass
class FlatPolicy:
    """A trained flat PPO with the standardisation of its fold; ``weights(t)`` is its proposal at row t."""

    model: Any
    inputs: FlatInputs
    tradable: np.ndarray  # (T, N) bool
    logit_scale: float

    def weights(self, t: int) -> np.ndarray:
        """(N,) softmax proposal over the names tradable at t (the simulator applies caps and cash)."""
        action, _ = self.model.predict(self.inputs.features[t], deterministic=True)
        return masked_softmax(self.logit_scale * np.asarray(action, dtype=np.float64), self.tradable[t])


def train_flat_policy(
    arrays: FeatureArrays, cfg: Config, fold: Fold, seed: int, market: MarketArrays | None = None
) -> FlatPolicy:
    """PPO on :class:`FlatEnv` over the fold's training rows for ``backtest.flat_rl_timesteps`` steps."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv

    market = market if market is not None else MarketArrays.from_features(arrays, cfg.risk)
    inputs = flat_inputs(arrays, fold.train_rows)
    date_range = (fold.train_start, fold.train_end - 1)
    venv = DummyVecEnv([lambda: FlatEnv(arrays, cfg, inputs, date_range, market)])
    n_steps = min(256, max(2, cfg.backtest.flat_rl_timesteps))
    with single_thread():
        model = PPO(
            "MlpPolicy",
            venv,
            n_steps=n_steps,
            batch_size=min(64, n_steps),  # a batch larger than the rollout is one truncated batch anyway
            n_epochs=5,
            learning_rate=3e-4,
            gamma=0.9,
            policy_kwargs={"net_arch": [64, 64], "log_std_init": -1.0},
            seed=seed,
            device="cpu",
            verbose=0,
        )
        model.learn(cfg.backtest.flat_rl_timesteps)
    return FlatPolicy(model, inputs, market.tradable, cfg.env.logit_scale)


class FlatRlStrategy:
    """Fold- and seed-aware weight function: the policy trained on the fold's training rows with the seed.

    ``policies`` may be filled beforehand (e.g. by fanned-out training tasks); a missing one is trained on first use.
    """

    def __init__(self, arrays: FeatureArrays, cfg: Config, plan: WalkForwardPlan, market: MarketArrays | None = None):
        self.arrays = arrays
        self.cfg = cfg
        self.plan = plan
        self.market = market if market is not None else MarketArrays.from_features(arrays, cfg.risk)
        self.policies: dict[tuple[int, int], FlatPolicy] = {}

    def policy(self, fold: int, seed: int) -> FlatPolicy:
        key = (fold, seed)
        if key not in self.policies:
            log.info(
                "flat RL: training fold %d/%d, seed %d (%d steps)",
                fold + 1, len(self.plan.folds), seed, self.cfg.backtest.flat_rl_timesteps,
            )  # fmt: skip
            self.policies[key] = train_flat_policy(self.arrays, self.cfg, self.plan.folds[fold], seed, self.market)
        return self.policies[key]

    def __call__(self, arrays: FeatureArrays, t: int, seed: int) -> np.ndarray:
        return self.policy(self.plan.fold_of(t), seed).weights(t)

    def as_strategy(self) -> Strategy:
        return Strategy(FLAT_RL, self, seeded=True)
