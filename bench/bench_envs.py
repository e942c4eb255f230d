"""Raw step throughput of MicroEnv (50 stocks), MacroEnv, and a straightforward pandas-per-step MicroEnv step.

Usage: ``.venv/bin/python bench/bench_envs.py [--seconds 3]``; prints one JSON object. No SB3, no policy: a fixed
action every step, resetting when an episode ends. The data is a seeded synthetic panel (benchmark data only) with
the SPEC's dimensions: 22 stock features, 17 macro features, 10 sectors x 5 stocks.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np
import pandas as pd

from hrl_sarp.config import Config, RewardConfig
from hrl_sarp.envs.macro_env import MacroEnv
from hrl_sarp.envs.micro_env import MicroEnv
from hrl_sarp.features.arrays import FeatureArrays

N_FEATURES, N_MACRO = 22, 17


def bench_arrays(n_dates: int = 1500, n_stocks: int = 50, n_sectors: int = 10, seed: int = 11) -> FeatureArrays:
    rng = np.random.default_rng(seed)
    rets = rng.normal(0.0004, 0.015, (n_dates, n_stocks))
    rets[0] = 0.0
    close = 100.0 * np.cumprod(1 + rets, axis=0)
    prev = np.vstack([close[:1], close[:-1]])
    open_ = prev * (1 + 0.4 * rets)
    sector_of = np.arange(n_stocks) % n_sectors
    member = np.zeros((n_sectors, n_stocks))
    member[sector_of, np.arange(n_stocks)] = 1.0
    sector_returns = rets @ member.T / member.sum(1)
    bench = rets.mean(1)
    names = tuple(f"f{i}" for i in range(N_FEATURES - 1)) + ("pe_zscore",)
    return FeatureArrays(
        build_id="bench",
        dates=np.datetime64("2015-01-01") + np.arange(n_dates).astype("timedelta64[D]"),
        symbols=np.array([f"S{i}" for i in range(n_stocks)]),
        sectors=np.array([f"SEC{s}" for s in range(n_sectors)]),
        stock_sector=sector_of,
        stock_features=rng.normal(0, 1, (n_dates, n_stocks, N_FEATURES)),
        stock_feature_names=names,
        macro=rng.normal(0, 1, (n_dates, N_MACRO)),
        macro_names=tuple(f"m{i}" for i in range(N_MACRO)),
        close=close,
        open=open_,
        stock_returns=rets,
        tradable=np.ones((n_dates, n_stocks), bool),
        adv_value=np.full((n_dates, n_stocks), 1e8),
        sector_returns=sector_returns,
        sector_returns_cap=sector_returns,
        benchmark_returns=bench,
        regime_labels=(np.arange(n_dates) // 17 % 3).astype(np.int64),
        week_end_index=np.arange(4, n_dates, 5),
        forward_returns=np.full((n_dates, n_stocks), np.nan),
    )


class PandasMicroStep:
    """The MicroEnv step written the straightforward way: a (date, symbol) DataFrame queried every step, pandas
    arithmetic for softmax, iterative cap-and-renormalise, costs, and pandas Series for the reward windows."""

    def __init__(self, arrays: FeatureArrays, config: Config):
        self.cfg = config
        n_dates, n = arrays.n_dates, arrays.n_stocks
        index = pd.MultiIndex.from_product([arrays.dates, arrays.symbols], names=["date", "symbol"])
        frame = {
            "open": arrays.open.ravel(),
            "close": arrays.close.ravel(),
            "tradable": arrays.tradable.ravel(),
            "sector": np.tile(arrays.stock_sector, n_dates),
        }
        for k, name in enumerate(arrays.stock_feature_names):
            frame[name] = arrays.stock_features[:, :, k].ravel()
        self.panel = pd.DataFrame(frame, index=index)
        self.features = list(arrays.stock_feature_names)
        self.returns_wide = pd.DataFrame(arrays.stock_returns, index=arrays.dates, columns=arrays.symbols)
        self.macro = pd.DataFrame(arrays.macro, index=arrays.dates, columns=list(arrays.macro_names))
        self.dates = arrays.dates
        self.symbols = arrays.symbols
        self.n = n
        self.goal = pd.Series(1.0 / arrays.n_sectors, index=range(arrays.n_sectors))
        c = config.costs
        gst = c.gst_rate * (c.brokerage_bps + c.exchange_bps)
        common = c.exchange_bps + c.sebi_bps + c.brokerage_bps + gst + c.slippage_bps
        self.buy_rate = (c.stt_buy_bps + c.stamp_duty_buy_bps + common) * 1e-4
        self.sell_rate = (c.stt_sell_bps + common) * 1e-4

    def reset(self, t0: int) -> None:
        self.t = t0
        self.holdings = pd.Series(0.0, index=self.symbols)
        self.cash = 1.0
        self.nav = self.peak = self.cfg.env.initial_nav
        self.history = pd.Series([0.0] * self.cfg.rewards.portfolio_window_days)

    def _project(self, p: pd.Series, sectors: pd.Series) -> pd.Series:
        risk = self.cfg.risk
        w = p * (1.0 - risk.min_cash)
        for _ in range(100):
            w = w.clip(upper=risk.stock_cap)
            by_sector = w.groupby(sectors).sum()
            scale = (risk.sector_cap / by_sector).clip(upper=1.0)
            w = w * sectors.map(scale)
            room = (1.0 - risk.min_cash) - w.sum()
            free = w[(w < risk.stock_cap - 1e-12) & (sectors.map(by_sector * scale) < risk.sector_cap - 1e-12)]
            if room < 1e-12 or free.sum() <= 0:
                break
            w.loc[free.index] += room * free / free.sum()
        return w

    def step(self, action: np.ndarray):
        cfg = self.cfg
        t = self.t
        today = self.panel.xs(self.dates[t], level="date")
        nxt = self.panel.xs(self.dates[t + 1], level="date")
        logits = pd.Series(action[: self.n].astype(np.float64) * cfg.env.logit_scale, index=self.symbols).where(
            today["tradable"]
        )
        p = np.exp(logits - logits.max()).fillna(0.0)
        w = self._project(p / p.sum(), today["sector"])
        window = self.returns_wide.iloc[max(0, t - cfg.risk.cvar_window_days + 1) : t + 1]
        port = window @ w
        k = int(np.ceil(0.05 * len(port)))
        cvar = -port.nsmallest(k).mean()
        if cvar > cfg.risk.cvar_budget:
            w = w * cfg.risk.cvar_budget / cvar
        held = self.holdings * nxt["open"] / today["close"]
        open_rel = self.cash + held.sum()
        delta = w - held / open_rel
        cost = self.buy_rate * delta.clip(lower=0).sum() + self.sell_rate * (-delta).clip(lower=0).sum()
        grown = w * nxt["close"] / nxt["open"]
        cash = 1.0 - w.sum() - cost
        close_rel = cash + grown.sum()
        nav_prev = self.nav
        self.nav = nav_prev * open_rel * close_rel
        self.holdings = grown / close_rel
        self.cash = cash / close_rel
        self.peak = max(self.peak, self.nav)
        ret = self.nav / nav_prev - 1.0
        dd = 1.0 - self.nav / self.peak
        achieved = w.groupby(today["sector"]).sum() / w.sum()
        self.history = pd.concat([self.history.iloc[1:], pd.Series([ret])], ignore_index=True)
        week = self.history.iloc[-cfg.rewards.sharpe_window_days :]
        sharpe = week.mean() / max(week.std(ddof=0), cfg.rewards.sharpe_std_floor)
        nav_path = (1 + self.history).cumprod()
        max_dd = (1 - nav_path / nav_path.cummax().clip(lower=1.0)).max()
        calmar = (nav_path.iloc[-1] - 1) / max(max_dd, cfg.rewards.calmar_drawdown_floor)
        port_cvar = -self.history.nsmallest(1).mean()
        cos = (achieved * self.goal).sum() / np.sqrt((achieved**2).sum() * (self.goal**2).sum())
        pe_z = (w * today["pe_zscore"]).sum() / w.sum()
        r_value = ret if (pe_z < cfg.rewards.value_pe_z_threshold and ret > 0) else 0.0
        rew = cfg.rewards
        r_micro = (
            rew.micro_sharpe_weight * sharpe
            + rew.micro_goal_weight * cos
            - rew.micro_drawdown_weight * max(0.0, dd - rew.micro_drawdown_free) ** 2
        )
        r_port = calmar * (1 - port_cvar) - cost * open_rel
        reward = (
            rew.micro_mix["micro"] * r_micro + rew.micro_mix["portfolio"] * r_port + rew.micro_mix["value"] * r_value
        )
        self.t = t + 1
        obs = np.concatenate(
            [
                self.panel.xs(self.dates[t + 1], level="date")[self.features].to_numpy().ravel(),
                self.holdings.to_numpy(),
                self.macro.loc[self.dates[t + 1]].to_numpy(),
                [dd],
            ]
        )
        return obs, float(reward)


def _rate(step, reset, seconds: float) -> tuple[float, float, int]:
    """(steps per wall second, steps per CPU second of this process, steps). The CPU rate is less sensitive to
    other processes competing for the cores."""
    reset()
    n, start, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        if step():
            reset()
        n += 1
    return n / (time.perf_counter() - start), n / (time.process_time() - cpu), n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    arrays = bench_arrays()
    # the daily step of the seed's problem: the step the pandas reference implements (same rewards, checked below)
    config = Config(rewards=RewardConfig(mode="seed"))
    # a confident policy: sector 0 favoured, a ramp elsewhere -> stock and sector caps bind (full projection)
    ramp = np.linspace(-1.0, 0.8, arrays.n_stocks)
    action = np.where(arrays.stock_sector == 0, 1.0, ramp).astype(np.float32)
    # a diffuse policy: no cap binds (fast path of the projection)
    diffuse = np.sin(np.arange(arrays.n_stocks) * 0.7).astype(np.float32)

    micro = MicroEnv(arrays, config)

    def micro_step() -> bool:
        return micro.step(action)[3]

    def micro_step_diffuse() -> bool:
        return micro.step(diffuse)[3]

    micro_rate, micro_cpu, micro_n = _rate(micro_step, lambda: micro.reset(options={"start": 100}), args.seconds)
    diffuse_rate, diffuse_cpu, _ = _rate(micro_step_diffuse, lambda: micro.reset(options={"start": 100}), args.seconds)
    micro.reset(options={"start": 100})
    micro.step(action)
    w = micro.executed_weights
    caps_bind = bool(w.max() >= config.risk.stock_cap - 1e-12) and bool(
        np.bincount(arrays.stock_sector, weights=w).max() >= config.risk.sector_cap - 1e-12
    )

    # the default (attributed) problem: one goal-matched decision held to the week end (5 sessions, caps binding)
    weekly = MicroEnv(arrays, Config())

    def weekly_step() -> bool:
        return weekly.step(action)[3]

    weekly_rate, weekly_cpu, _ = _rate(weekly_step, lambda: weekly.reset(options={"start": 100}), args.seconds)

    macro = MacroEnv(arrays, config, np.zeros((len(arrays.week_end_index), arrays.n_sectors, 64)))
    macro_action = np.sin(np.arange(arrays.n_sectors + 3) * 0.7).astype(np.float32)

    def macro_step() -> bool:
        return macro.step(macro_action)[3]

    macro_rate, macro_cpu, macro_n = _rate(macro_step, lambda: macro.reset(options={"start": 104}), args.seconds)

    pandas_env = PandasMicroStep(arrays, config)
    state = {"steps": 0}

    def pandas_step() -> bool:
        pandas_env.step(action)
        state["steps"] += 1
        return state["steps"] % config.env.micro_episode_days == 0

    pandas_rate, pandas_cpu, pandas_n = _rate(pandas_step, lambda: pandas_env.reset(100), args.seconds)

    # same decisions on both implementations: NAV after 20 steps from the same start
    micro.reset(options={"start": 200})
    pandas_env.reset(200)
    reward_diff = 0.0
    for _ in range(20):
        _, reward, *_ = micro.step(action)
        _, pandas_reward = pandas_env.step(action)
        reward_diff = max(reward_diff, abs(reward - pandas_reward))
    print(
        json.dumps(
            {
                "python": platform.python_version(),
                "n_stocks": arrays.n_stocks,
                "n_sectors": arrays.n_sectors,
                "n_features": N_FEATURES,
                "load_average_1min": round(os.getloadavg()[0], 2),
                "micro_env_steps_per_s": round(micro_rate, 1),
                "micro_env_steps_per_cpu_s": round(micro_cpu, 1),
                "micro_env_steps": micro_n,
                "micro_env_caps_bind": caps_bind,
                "micro_env_steps_per_s_no_cap_binding": round(diffuse_rate, 1),
                "micro_env_attributed_decisions_per_s": round(weekly_rate, 1),
                "micro_env_attributed_decisions_per_cpu_s": round(weekly_cpu, 1),
                "micro_env_steps_per_cpu_s_no_cap_binding": round(diffuse_cpu, 1),
                "macro_env_steps_per_s": round(macro_rate, 1),
                "macro_env_steps_per_cpu_s": round(macro_cpu, 1),
                "macro_env_sessions_per_s": round(macro_rate * config.env.macro_step_days, 1),
                "pandas_micro_steps_per_s": round(pandas_rate, 1),
                "pandas_micro_steps_per_cpu_s": round(pandas_cpu, 1),
                "pandas_micro_steps": pandas_n,
                "speedup_vs_pandas": round(micro_cpu / pandas_cpu, 1),
                "nav_rel_diff_after_20_steps": abs(micro.sim.nav / pandas_env.nav - 1.0),
                "max_reward_diff_20_steps": reward_diff,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
