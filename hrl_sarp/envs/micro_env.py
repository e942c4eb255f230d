"""MicroEnv: the goal-conditioned stock-picking environment (TD3 + HER).

Two problems, by ``rewards.mode``:

- ``attributed`` (default): the problem the micro agent serves when deployed. A decision at row t turns the stock
  logits into a proposal (masked softmax over the names tradable at t), rescales it so each sector holds the goal's
  weight (``rl.micro_goal_matching``), executes it and holds it for ``rl.micro_rebalance_days`` sessions, cut at
  the next week end (short weeks), so decisions stay on the deployed calendar; random episode starts are moved to
  the next week end, where the frozen macro's goal changes. Reward::

      goal @ R_active - cost caused

  with ``R_active`` (S,) the return over the held sessions of the executed names inside each sector (the weights
  after the risk pipeline, normalised within the sector) minus the sector's equal weight over its tradable names
  (:func:`~hrl_sarp.envs.rewards.within_sector_active`), and the cost caused the cost rate times the turnover of
  the executed weights minus that of the goal-matched equal-weight target, executed through the same risk
  pipeline, from the same holdings. Relabelling a goal
  (HER) asks what the same picks would have earned under another allocation: ``g @ R_active``, exact up to the
  cost term, which stays the executed one (``info["sector_active"]``, ``info["goal_free_reward"]``). Components
  in ``info``: ``r_active``, ``r_cost``.
- ``seed``: the seed's daily problem described below (no goal matching, one decision per session).

Observation (Dict):
- ``observation`` (D,) float32 = [stock features at t, padded to N_max x F | current weights (N_max) |
  macro state at t (M) | portfolio drawdown | one-hot regime of the goal (3)]
- ``achieved_goal`` (S,) = sector allocation of the step's decision after the risk pipeline and before the
  drawdown rule, normalised to sum 1 (equal weights over the sectors with a tradable name before the first step).
  It is what the agent chose, whatever the overlay did to exposure: never the all-cash zero vector a closed gate
  would give, which no macro goal ever is, so HER's relabelled goals are real allocations
- ``desired_goal`` (S,) = the macro sector allocation from the goal provider at t

Action: Box(-1, 1, (N_max,)) stock logits; times ``env.logit_scale``, masked softmax over the names tradable at t
(padding and untradable names get 0), then the simulator's risk pipeline (caps, min cash, CVaR, drawdown gate).

Seed reward of a step decided at t and realised at the close of t+1 (weights from ``rewards`` config)::

    micro_mix.micro * R_micro + micro_mix.portfolio * R_portfolio + micro_mix.value * R_value

with Sharpe_week over the last ``sharpe_window_days`` daily returns, Calmar and CVaR95 over the last
``portfolio_window_days``, DD the drawdown from the episode's peak and PE_z the weight-averaged pe_zscore of the
holdings at t. The portfolio starts each episode in cash, so the trailing windows start filled with zero returns.
The goal-dependent part is ``micro_mix.micro * micro_goal_weight * cos(achieved, desired)``; the rest travels in
``info["goal_free_reward"]`` so that :meth:`MicroEnv.compute_reward` can relabel goals in batches (HER must use
``copy_info_dict=True``). The step's reward uses the goal the decision was taken under.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from hrl_sarp.config import Config
from hrl_sarp.domain import REGIMES
from hrl_sarp.envs.goals import ConstantGoal, GoalProvider, goal_matched
from hrl_sarp.envs.rewards import cosine_similarity, within_sector_active
from hrl_sarp.envs.risk import cvar_tail_count
from hrl_sarp.envs.simulator import MarketArrays, PortfolioSimulator
from hrl_sarp.envs.weights import masked_softmax
from hrl_sarp.errors import HrlSarpError
from hrl_sarp.features.arrays import FeatureArrays

PE_FEATURE = "pe_zscore"


def trailing_stats(
    history: list[float], sharpe_days: int, std_floor: float, drawdown_floor: float, cvar_k: int
) -> tuple[float, float, float]:
    """(Sharpe_week, Calmar, CVaR95) of a short list of daily returns, in plain Python (faster than NumPy at
    these lengths). Same definitions as :mod:`hrl_sarp.envs.rewards`: Sharpe over the last ``sharpe_days`` (ddof 0,
    std floored), Calmar and CVaR over the whole list (``cvar_k`` worst returns)."""
    week = history[-sharpe_days:]
    mean = sum(week) / len(week)
    std = math.sqrt(sum((x - mean) * (x - mean) for x in week) / len(week))
    sharpe = mean / max(std, std_floor)
    nav = peak = 1.0
    max_dd = 0.0
    for r in history:
        nav *= 1.0 + r
        if nav > peak:
            peak = nav
        elif 1.0 - nav / peak > max_dd:
            max_dd = 1.0 - nav / peak
    calmar = (nav - 1.0) / max(max_dd, drawdown_floor)
    cvar = -sum(sorted(history)[:cvar_k]) / cvar_k
    return sharpe, calmar, cvar


def _check_range(date_range: tuple[int, int] | None, n_dates: int, min_span: int) -> tuple[int, int]:
    first, last = (0, n_dates - 1) if date_range is None else (int(date_range[0]), int(date_range[1]))
    if not 0 <= first < last < n_dates or last - first < min_span:
        raise HrlSarpError(f"date range [{first}, {last}] unusable for {n_dates} dates (needs {min_span} rows)")
    return first, last


class MicroEnv(gym.Env):
    """Daily stock-weight environment conditioned on a macro goal (see module docstring).

    arrays: the feature build; config: the run config (costs, risk, rewards, env); goal_provider: t ->
    (sector weights (S,), regime) using data <= t, default equal sector weights / Sideways; date_range: (first,
    last) rows an episode may touch (decisions and fills), e.g. the training split; market: prepared arrays to
    share between environments.
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        arrays: FeatureArrays,
        config: Config,
        goal_provider: GoalProvider | None = None,
        date_range: tuple[int, int] | None = None,
        market: MarketArrays | None = None,
    ):
        super().__init__()
        self.config = config
        env_cfg, rew = config.env, config.rewards
        self.market = market if market is not None else MarketArrays.from_features(arrays, config.risk)
        self.sim = PortfolioSimulator(self.market, config.costs, config.risk, env_cfg.initial_nav)
        n = arrays.n_stocks
        self.n_stocks, self.n_sectors = n, arrays.n_sectors
        self.n_max = max(env_cfg.max_stocks, n)
        self.episode_days = env_cfg.micro_episode_days
        self.first, self.last = _check_range(date_range, arrays.n_dates, 1)
        self.goal_provider = goal_provider or ConstantGoal(np.full(self.n_sectors, 1.0 / self.n_sectors))
        self.logit_scale = env_cfg.logit_scale

        n_feat = arrays.stock_features.shape[2]
        feats = np.zeros((arrays.n_dates, self.n_max, n_feat), dtype=np.float32)
        feats[:, :n] = np.nan_to_num(arrays.stock_features, nan=0.0, posinf=0.0, neginf=0.0)
        self._stock_obs = feats.reshape(arrays.n_dates, -1)
        self._macro = np.nan_to_num(np.asarray(arrays.macro, dtype=np.float32))
        pe = arrays.stock_feature_names.index(PE_FEATURE) if PE_FEATURE in arrays.stock_feature_names else None
        # without a pe_zscore feature PE_z is the neutral 0, so R_value is 0
        self._pe = np.zeros((arrays.n_dates, n)) if pe is None else np.nan_to_num(arrays.stock_features[:, :, pe])
        n_stock_obs = self._stock_obs.shape[1]
        self._slice_weights = slice(n_stock_obs, n_stock_obs + n)
        self._at_macro = n_stock_obs + self.n_max
        self._at_dd = self._at_macro + self._macro.shape[1]
        self._at_regime = self._at_dd + 1
        obs_dim = self._at_regime + len(REGIMES)
        self._obs_dim = obs_dim

        self.observation_space = spaces.Dict(
            {
                "observation": spaces.Box(-np.inf, np.inf, (obs_dim,), np.float32),
                "achieved_goal": spaces.Box(0.0, 1.0, (self.n_sectors,), np.float32),
                "desired_goal": spaces.Box(0.0, 1.0, (self.n_sectors,), np.float32),
            }
        )
        self.action_space = spaces.Box(-1.0, 1.0, (self.n_max,), np.float32)

        mix = rew.micro_mix
        self._w_goal = mix["micro"] * rew.micro_goal_weight
        self._w_sharpe = mix["micro"] * rew.micro_sharpe_weight
        self._w_dd = mix["micro"] * rew.micro_drawdown_weight
        self._w_port = mix["portfolio"]
        self._w_value = mix["value"]
        self._dd_free = rew.micro_drawdown_free
        self._pe_threshold = rew.value_pe_z_threshold
        self._sharpe_days = rew.sharpe_window_days
        self._std_floor = rew.sharpe_std_floor
        self._port_days = rew.portfolio_window_days
        self._dd_floor = rew.calmar_drawdown_floor
        self._cvar_k = cvar_tail_count(self._port_days)
        self._history = [0.0] * self._port_days
        self._sector_of = self.market.sector_of
        self._all_tradable = self.market.tradable.all(axis=1).tolist()
        self._achieved = np.zeros(self.n_sectors, dtype=np.float32)
        self._goal = np.zeros(self.n_sectors, dtype=np.float32)
        self._regime = 0
        self._steps = 0
        self._start = 0
        self.executed_weights = np.zeros(n)
        # attributed mode: the deployed problem (goal-matched, one decision per rl.micro_rebalance_days sessions
        # from a week end), rewarded by the chosen names' active return inside their sectors
        self.attributed = rew.mode == "attributed"
        self.rebalance_days = config.rl.micro_rebalance_days if self.attributed else 1
        self.goal_matching = self.attributed and config.rl.micro_goal_matching
        self._cost_rate = self.sim.cost_model.mean_rate
        # (T+1, N) cumulative log growth, for the compounded returns of a held decision (attributed mode only)
        self._log_growth = (
            np.vstack([np.zeros((1, n)), np.cumsum(np.log1p(self.market.returns), axis=0)]) if self.attributed else None
        )
        self._week_ends = np.asarray(arrays.week_end_index, dtype=np.int64)

    # ----------------------------------------------------------------------------------------------------------
    def _set_goal(self, t: int) -> None:
        weights, regime = self.goal_provider(t)
        self._goal = np.asarray(weights, dtype=np.float32)
        self._regime = int(regime)

    def _observe(self) -> dict[str, np.ndarray]:
        t = self.sim.t
        obs = np.zeros(self._obs_dim, dtype=np.float32)
        obs[: self._slice_weights.start] = self._stock_obs[t]
        obs[self._slice_weights] = self.sim.weights
        obs[self._at_macro : self._at_dd] = self._macro[t]
        obs[self._at_dd] = self.sim.drawdown
        obs[self._at_regime + self._regime] = 1.0
        # _achieved is a fresh array every step; the goal array is shared between steps, so it is copied
        return {"observation": obs, "achieved_goal": self._achieved, "desired_goal": self._goal.copy()}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start at ``options["start"]`` if given, else at a row drawn uniformly so the episode fits the range."""
        super().reset(seed=seed)
        if options and "start" in options:
            start = int(options["start"])
        else:
            latest = max(self.first, self.last - self.episode_days)
            start = int(self.np_random.integers(self.first, latest + 1))
            if self.attributed:  # decisions start at a week end, as deployed (the next one, if inside the range)
                k = int(np.searchsorted(self._week_ends, start))
                if k < len(self._week_ends) and self._week_ends[k] < self.last:
                    start = int(self._week_ends[k])
        if not self.first <= start < self.last:
            raise HrlSarpError(f"episode start {start} outside [{self.first}, {self.last})")
        self.sim.reset(start)
        self._start = start
        self._history = [0.0] * self._port_days
        has = np.bincount(self._sector_of, weights=self.market.tradable[start], minlength=self.n_sectors) > 0
        self._achieved = (has / max(int(has.sum()), 1)).astype(np.float32)
        self._steps = 0
        self._set_goal(start)
        return self._observe(), {"t": start}

    def step(self, action: np.ndarray):
        if self.attributed:
            return self._step_attributed(action)
        sim = self.sim
        t = sim.t
        # softmax numerators over the tradable names; the simulator masks, normalises and projects (hot path)
        z = np.multiply(action[: self.n_stocks], self.logit_scale, dtype=np.float64)
        if self._all_tradable[t]:
            z -= z.max()
        else:
            mask = self.market.tradable[t]
            z -= z[mask].max() if mask.any() else z.max()
        res = sim.step(np.exp(z, out=z), invest_all=True)
        w = self.executed_weights = res.weights  # (N,) executed at the open of t+1
        invested = res.invested
        chosen = np.bincount(self._sector_of, weights=sim.proposed, minlength=self.n_sectors)
        total = float(chosen.sum())
        if total > 0:  # else nothing was tradable: the previous achieved goal stands
            self._achieved = np.multiply(chosen, 1.0 / total, dtype=np.float32)

        history = self._history
        history.append(res.ret)
        del history[0]
        sharpe, calmar, cvar = trailing_stats(history, self._sharpe_days, self._std_floor, self._dd_floor, self._cvar_k)
        r_portfolio = calmar * (1.0 - cvar) - res.cost
        pe_z = float(w @ self._pe[t]) / invested if invested > 0 else 0.0
        r_value = res.ret if (pe_z < self._pe_threshold and res.ret > 0) else 0.0
        dd_excess = max(0.0, res.drawdown - self._dd_free)
        goal_free = (
            self._w_sharpe * sharpe
            - self._w_dd * dd_excess * dd_excess
            + self._w_port * r_portfolio
            + self._w_value * r_value
        )
        info = {
            "t": t,
            "goal_free_reward": goal_free,
            "sharpe_week": sharpe,
            "drawdown": res.drawdown,
            "r_portfolio": r_portfolio,
            "r_value": r_value,
            "nav": res.nav,
            "return": res.ret,
            "cost": res.cost,
            "turnover": res.turnover,
            "gated": res.gated,
        }
        desired = self._goal
        reward = float(self.compute_reward(self._achieved, desired, info))
        self._steps += 1
        truncated = self._steps >= self.episode_days or sim.t >= self.last
        if not truncated:
            self._set_goal(sim.t)
        return self._observe_after(desired if truncated else None), reward, False, truncated, info

    def _step_attributed(self, action: np.ndarray):
        """One decision held for ``rebalance_days`` sessions: the stock proposal, rescaled to the goal's sector
        weights (goal matching), is executed and then held; reward ``goal @ R_active - cost caused``."""
        sim = self.sim
        t = sim.t
        tradable = self.market.tradable[t]
        proposal = masked_softmax(self.logit_scale * np.asarray(action[: self.n_stocks], dtype=np.float64), tradable)
        goal = self._goal.astype(np.float64)
        equal = masked_softmax(np.zeros(self.n_stocks), tradable)
        if self.goal_matching:
            target, benchmark = (
                goal_matched(proposal, goal, self._sector_of),
                goal_matched(equal, goal, self._sector_of),
            )
        else:
            target, benchmark = proposal, equal
        before = sim.weights.copy()
        benchmark = sim.risk_adjust(benchmark, t)[0]  # the equal-weight choice as the risk pipeline would execute it
        res = sim.step(target)
        executed = sim.proposed  # after the risk pipeline (caps, CVaR), before the drawdown rule
        chosen = np.bincount(self._sector_of, weights=executed, minlength=self.n_sectors)
        total = float(chosen.sum())
        if total > 0:  # else nothing was tradable: the previous achieved goal stands
            self._achieved = np.multiply(chosen, 1.0 / total, dtype=np.float32)
        growth, cost, gated = 1.0 + res.ret, res.cost, res.gated
        for _ in range(1, self._hold_days(t)):
            if sim.t >= self.last:
                break
            held = sim.step(None)
            growth *= 1.0 + held.ret
            cost += held.cost
            gated = gated or held.gated
        period = np.expm1(self._log_growth[sim.t + 1] - self._log_growth[t + 1])  # rows t+1 .. the step's end
        active = within_sector_active(executed, tradable, self._sector_of, period, self.n_sectors)
        caused = self._cost_rate * float(np.abs(executed - before).sum() - np.abs(benchmark - before).sum())
        self.executed_weights = sim.weights
        info = {
            "t": t,
            "goal_free_reward": -caused,
            "sector_active": active,
            "r_active": float(goal @ active),
            "r_cost": -caused,
            "drawdown": sim.drawdown,
            "nav": sim.nav,
            "return": growth - 1.0,
            "cost": cost,
            "turnover": res.turnover,
            "gated": gated,
        }
        desired = self._goal
        reward = float(self.compute_reward(self._achieved, desired, info))
        self._steps += 1
        truncated = sim.t - self._start >= self.episode_days or sim.t >= self.last
        if not truncated:
            self._set_goal(sim.t)
        return self._observe_after(desired if truncated else None), reward, False, truncated, info

    def _hold_days(self, t: int) -> int:
        """Sessions a decision at row t is held: ``rebalance_days``, cut at the next week end so decisions stay on
        the deployed calendar through short (holiday) weeks."""
        k = int(np.searchsorted(self._week_ends, t, side="right"))
        to_week_end = int(self._week_ends[k]) - t if k < len(self._week_ends) else self.rebalance_days
        return max(1, min(self.rebalance_days, to_week_end))

    def _observe_after(self, desired: np.ndarray | None) -> dict[str, np.ndarray]:
        obs = self._observe()
        if desired is not None:
            obs["desired_goal"] = desired.copy()
        return obs

    def compute_reward(self, achieved_goal: np.ndarray, desired_goal: np.ndarray, info: Any) -> np.ndarray | float:
        """Reward for (achieved, desired) goals: (S,) or (B, S); ``info`` a dict or a (B,) sequence of step infos."""
        if self.attributed:  # the same picks under another goal: g @ R_active, same row sums on both paths
            if isinstance(info, dict):
                return float((np.asarray(desired_goal, dtype=np.float64) * info["sector_active"]).sum(axis=-1)
                             + info["goal_free_reward"])  # fmt: skip
            infos = np.ravel(info)
            active = np.stack([i["sector_active"] for i in infos]).reshape(*np.shape(desired_goal))
            goal_free = np.fromiter((i["goal_free_reward"] for i in infos), dtype=np.float64)
            return (np.asarray(desired_goal, dtype=np.float64) * active).sum(axis=-1) + goal_free.reshape(
                np.shape(desired_goal)[:-1]
            )
        # the cosine is rounded to float32 (the goals' dtype) so that the scalar path (dot products) and the batched
        # path (row sums) agree bit for bit
        if isinstance(info, dict):
            a = np.asarray(achieved_goal, dtype=np.float64)
            b = np.asarray(desired_goal, dtype=np.float64)
            norm = math.sqrt(float(a @ a) * float(b @ b))
            cos = float(np.float32(float(a @ b) / norm)) if norm > 0 else 0.0
            return self._w_goal * cos + info["goal_free_reward"]
        cos = cosine_similarity(achieved_goal, desired_goal).astype(np.float32).astype(np.float64)
        try:
            goal_free = np.fromiter((i["goal_free_reward"] for i in np.ravel(info)), dtype=np.float64)
        except KeyError:
            raise HrlSarpError(
                "MicroEnv.compute_reward needs the step infos: pass replay_buffer_kwargs copy_info_dict=True to HER"
            ) from None
        return self._w_goal * cos + goal_free.reshape(np.shape(cos))
