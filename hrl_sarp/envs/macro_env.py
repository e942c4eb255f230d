"""MacroEnv: the weekly sector-allocation and regime environment (PPO), micro layer frozen inside.

Observation (D,) float32 = [macro state at t (M) | portfolio drawdown | sector embeddings of the last week ending
at or before t (S x E, flattened; zeros before the first week) | the previous sector allocation (S; equal weights
at an episode's start), as the deployed decision path sees it].

Action: Box(-1, 1, (S + 3,)): S sector logits, turned into sector weights over the sectors with a tradable name at
t by :func:`allocate` (``env.macro_allocation``: equal weights plus a tilt of ``env.active_share`` along the demeaned
logits, or the seed's softmax; moved ``env.macro_trade_rate`` of the way from the previous allocation; sector cap),
and 3 regime logits (argmax: 0 Bull, 1 Bear, 2 Sideways). One step = ``macro_step_days`` sessions executed by the
micro layer (default :class:`~hrl_sarp.envs.goals.WithinSectorRule`) through the shared simulator.

Reward of a step decided at t0 and realised over t0+1 .. t1. Default (``rewards.mode: attributed``)::

    R_excess + regime_weight * R_regime

R_excess: sum_s (w_s - 1/S_available) * compounded sector_returns(t0+1..t1), minus the cost rate (mean of the buy
and sell rates) times the sector turnover from the previous allocation (from equal weights at an episode's first
step). It is what the allocation earned over equal sector weights whatever the risk overlay did to the holdings, so
scaled or gated weeks still teach the agent. ``rewards.mode: seed`` keeps the seed's mix (``rewards.macro_mix``)::

    0.4 R_macro + 0.3 R_portfolio + 0.2 R_regime + 0.1 R_value

R_macro: sector alpha = sum_s w_s * compounded sector_returns(t0+1..t1) - compounded benchmark over the same
days, minus ``hhi_penalty`` x HHI(w) and ``turnover_penalty`` x sum |w - w_previous step| (sector level);
R_portfolio: Calmar and CVaR95 over the trailing ``portfolio_window_days`` daily returns, minus the week's costs;
R_regime: the call against ``regime_labels[t1]`` (the trailing week ending at t1); R_value: the week's return when
the holdings' weight-averaged pe_zscore at t0 is below the threshold and the return is positive.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from hrl_sarp.config import Config
from hrl_sarp.domain import REGIMES
from hrl_sarp.envs import rewards as rw
from hrl_sarp.envs.goals import MicroLayer, WithinSectorRule
from hrl_sarp.envs.micro_env import PE_FEATURE, _check_range, trailing_stats
from hrl_sarp.envs.risk import cvar_tail_count
from hrl_sarp.envs.simulator import MarketArrays, PortfolioSimulator
from hrl_sarp.envs.weights import sector_allocation
from hrl_sarp.errors import HrlSarpError
from hrl_sarp.features.arrays import FeatureArrays


def allocate(config: Config, logits: np.ndarray, mask: np.ndarray, previous: np.ndarray | None) -> np.ndarray:
    """The macro decision rule shared by the environment and every deployed path: (S,) sector logits -> (S,)
    sector weights under ``env.macro_allocation`` / ``env.active_share`` / ``env.macro_trade_rate`` and the sector
    cap, moving from ``previous`` (None: from equal weights, at an episode's first decision)."""
    env = config.env
    return sector_allocation(
        logits,
        mask,
        previous,
        env.macro_allocation,
        env.logit_scale,
        env.active_share,
        env.macro_trade_rate,
        config.risk.sector_cap,
    )


class MacroEnv(gym.Env):
    """Weekly macro environment (see module docstring).

    arrays: the feature build; config: the run config; sector_embeddings: (W, S, E) aligned with
    ``arrays.week_end_index`` (None: no embedding block); micro_layer: the frozen lower layer; date_range: (first,
    last) rows an episode may touch; market: prepared arrays to share.
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        arrays: FeatureArrays,
        config: Config,
        sector_embeddings: np.ndarray | None = None,
        micro_layer: MicroLayer | None = None,
        date_range: tuple[int, int] | None = None,
        market: MarketArrays | None = None,
    ):
        super().__init__()
        self.config = config
        env_cfg = config.env
        self.market = market if market is not None else MarketArrays.from_features(arrays, config.risk)
        self.sim = PortfolioSimulator(self.market, config.costs, config.risk, env_cfg.initial_nav)
        self.micro_layer = micro_layer or WithinSectorRule(self.market)
        self.n_sectors = s = arrays.n_sectors
        self.step_days = env_cfg.macro_step_days
        self.episode_steps = env_cfg.macro_episode_weeks
        self.first, self.last = _check_range(date_range, arrays.n_dates, self.step_days)
        self.logit_scale = env_cfg.logit_scale
        self.sector_cap = config.risk.sector_cap
        self.rewards = config.rewards

        weeks = np.asarray(arrays.week_end_index, dtype=np.int64)
        if sector_embeddings is None:
            emb = np.zeros((len(weeks), s, 0))
        else:
            emb = np.asarray(sector_embeddings, dtype=np.float64)
            if emb.ndim != 3 or emb.shape[:2] != (len(weeks), s):
                raise HrlSarpError(f"sector embeddings shape {emb.shape} != (weeks {len(weeks)}, sectors {s}, E)")
        # row t sees the embedding of the last week that ended at or before t
        week_of_row = np.searchsorted(weeks, np.arange(arrays.n_dates), side="right") - 1
        flat = np.vstack([np.zeros((1, emb.shape[1] * emb.shape[2])), emb.reshape(len(weeks), -1)])
        self._embedding = np.nan_to_num(flat[week_of_row + 1]).astype(np.float32)
        self._macro = np.nan_to_num(np.asarray(arrays.macro, dtype=np.float32))
        self._sector_returns = np.nan_to_num(np.asarray(arrays.sector_returns, dtype=np.float64))
        self._benchmark = np.nan_to_num(np.asarray(arrays.benchmark_returns, dtype=np.float64))
        self._regimes = np.asarray(arrays.regime_labels, dtype=np.int64)
        names = arrays.stock_feature_names
        self._pe = (
            np.nan_to_num(arrays.stock_features[:, :, names.index(PE_FEATURE)])
            if PE_FEATURE in names
            else np.zeros((arrays.n_dates, arrays.n_stocks))
        )
        member = np.zeros((arrays.n_stocks, s))
        member[np.arange(arrays.n_stocks), self.market.sector_of] = 1.0
        self._has_stock = (self.market.tradable.astype(np.float64) @ member) > 0  # (T, S) sector has a tradable name
        starts = weeks[(weeks >= self.first) & (weeks <= self.last - self.step_days)]
        self._starts = starts if len(starts) else np.array([self.first])
        m = self._macro.shape[1]
        self._at_emb = m + 1
        self._at_weights = self._at_emb + self._embedding.shape[1]
        self._obs_dim = self._at_weights + s
        self.observation_space = spaces.Box(-np.inf, np.inf, (self._obs_dim,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (s + len(REGIMES),), np.float32)
        self._cvar_k = cvar_tail_count(self.rewards.portfolio_window_days)
        self._cost_rate = self.sim.cost_model.mean_rate
        self._history = [0.0] * self.rewards.portfolio_window_days
        self._prev_sector = np.zeros(s)
        self._steps = 0

    def _observe(self) -> np.ndarray:
        t = self.sim.t
        obs = np.empty(self._obs_dim, dtype=np.float32)
        obs[: self._at_emb - 1] = self._macro[t]
        obs[self._at_emb - 1] = self.sim.drawdown
        obs[self._at_emb : self._at_weights] = self._embedding[t]
        obs[self._at_weights :] = self._prev_sector if self._steps else 1.0 / self.n_sectors
        return obs

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start at ``options["start"]`` if given, else at a week end drawn uniformly from the range."""
        super().reset(seed=seed)
        start = int(options["start"]) if options and "start" in options else int(self.np_random.choice(self._starts))
        if not self.first <= start <= self.last - 1:
            raise HrlSarpError(f"episode start {start} outside [{self.first}, {self.last})")
        self.sim.reset(start)
        self._history = [0.0] * self.rewards.portfolio_window_days
        self._prev_sector = np.zeros(self.n_sectors)
        self._steps = 0
        return self._observe(), {"t": start}

    def sector_weights(self, action: np.ndarray, t: int, previous: np.ndarray | None = None) -> np.ndarray:
        """(S,) sector allocation from the action's first S logits at row t after ``previous`` (sums to 1 when
        feasible; :func:`allocate`)."""
        return allocate(self.config, action[: self.n_sectors], self._has_stock[t], previous)

    def step(self, action: np.ndarray):
        sim = self.sim
        rew = self.rewards
        t0 = sim.t
        sector_w = self.sector_weights(action, t0, self._prev_sector if self._steps else None)
        regime = int(np.argmax(action[self.n_sectors :]))
        cost = 0.0
        executed = None
        for day in range(self.step_days):
            if sim.t >= self.last:
                break
            res = sim.step(self.micro_layer(sim.t, sector_w, regime, day, sim))
            if executed is None:
                executed = res.weights
            cost += res.cost
            self._history.append(res.ret)
            del self._history[0]
        t1 = sim.t
        period = slice(t0 + 1, t1 + 1)
        sector_period = np.prod(1.0 + self._sector_returns[period], axis=0) - 1.0
        bench_period = float(np.prod(1.0 + self._benchmark[period]) - 1.0)
        turnover = float(np.abs(sector_w - self._prev_sector).sum())
        available = self._has_stock[t0]
        # the trades the tilt causes: from the previous allocation (equal weights before an episode's first step)
        before = self._prev_sector if self._steps else available / max(float(available.sum()), 1.0)
        r_excess = float(
            rw.allocation_excess(
                sector_w, sector_period, available, float(np.abs(sector_w - before).sum()), self._cost_rate
            )
        )
        r_macro = float(
            rw.macro_reward(sector_w, sector_period, bench_period, turnover, rew.hhi_penalty, rew.turnover_penalty)
        )
        _, calmar, cvar = trailing_stats(
            self._history, rew.sharpe_window_days, rew.sharpe_std_floor, rew.calmar_drawdown_floor, self._cvar_k
        )
        r_portfolio = calmar * (1.0 - cvar) - cost
        realised = int(self._regimes[t1])
        r_regime = float(rw.regime_reward(regime, realised, rew.regime_hit, rew.regime_miss))
        week_ret = float(np.prod(1.0 + np.asarray(self._history[-(t1 - t0) :])) - 1.0) if t1 > t0 else 0.0
        invested = 0.0 if executed is None else float(executed.sum())
        pe_z = float(executed @ self._pe[t0]) / invested if invested > 0 else 0.0
        r_value = float(rw.value_reward(week_ret, pe_z, rew.value_pe_z_threshold))
        components = {
            "excess": r_excess,
            "macro": r_macro,
            "portfolio": r_portfolio,
            "regime": r_regime,
            "value": r_value,
        }
        if rew.mode == "attributed":
            reward = r_excess + rew.regime_weight * r_regime
        else:
            reward = float(rw.mix_rewards(components, rew.macro_mix))
        self._prev_sector = sector_w
        self._steps += 1
        truncated = self._steps >= self.episode_steps or sim.t + self.step_days > self.last
        info = {
            "t": t0,
            "t_end": t1,
            "sector_weights": sector_w,
            "regime": regime,
            "realised_regime": realised,
            "week_return": week_ret,
            "nav": sim.nav,
            "cost": cost,
            **{f"r_{k}": v for k, v in components.items()},
        }
        return self._observe(), reward, False, truncated, info
