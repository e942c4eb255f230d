"""Flat RL baseline: standardisation from training rows only, the weekly env on the shared simulator, seeded and
point-in-time policies, and one policy per walk-forward fold."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hrl_sarp.backtest.flat_rl import FLAT_RL, FlatEnv, FlatRlStrategy, flat_inputs, train_flat_policy
from hrl_sarp.backtest.splits import Fold, walk_forward_splits
from hrl_sarp.config import Config
from hrl_sarp.envs.simulator import MarketArrays


def small_config(**backtest) -> Config:
    raw = Config().model_dump()
    raw["backtest"].update(
        train_days=150, test_days=60, flat_rl_timesteps=64, flat_rl_episode_weeks=4, seeds=[0, 1], **backtest
    )
    return Config.model_validate(raw)


def test_inputs_use_training_rows_only(arrays):
    train = slice(0, 150)
    base = flat_inputs(arrays, train)
    later = dataclasses.replace(arrays, stock_features=arrays.stock_features.copy(), macro=arrays.macro.copy())
    later.stock_features[200:] *= 50.0
    later.macro[200:] += 7.0
    moved = flat_inputs(later, train)
    np.testing.assert_array_equal(base.mean, moved.mean)
    np.testing.assert_array_equal(base.features[:200], moved.features[:200])
    window = base.features[train].astype(np.float64)
    assert np.abs(window.mean(axis=0)).max() < 1e-5 and np.abs(moved.features).max() <= 5.0


def test_env_steps_one_week_through_the_simulator(arrays):
    cfg = small_config()
    inputs = flat_inputs(arrays, slice(0, 150))
    env = FlatEnv(arrays, cfg, inputs, (0, 149))
    obs, info = env.reset(options={"start": 20})
    assert obs.shape == (arrays.n_stocks * 2 + 2,) and info["t"] == 20
    np.testing.assert_array_equal(obs, inputs.features[20])  # no portfolio state in the observation
    nav0 = env.sim.nav
    action = np.linspace(-1, 1, arrays.n_stocks).astype(np.float32)
    obs, reward, terminated, truncated, _ = env.step(action)
    assert env.sim.t == 20 + cfg.env.macro_step_days
    assert reward == pytest.approx(100.0 * np.log(env.sim.nav / nav0))
    # traded at the week's first open through the risk pipeline, then drifting: close to the caps, never levered
    held = env.sim.weights
    assert 0.9 < held.sum() <= 1.0 and env.sim.cash > 0 and held.max() <= cfg.risk.stock_cap * 1.1
    assert not terminated and not truncated


def test_policy_is_seeded_and_point_in_time(arrays):
    cfg = small_config()
    fold = Fold(0, 0, 150, 155, 215)
    market = MarketArrays.from_features(arrays, cfg.risk)
    a = train_flat_policy(arrays, cfg, fold, seed=3, market=market)
    b = train_flat_policy(arrays, cfg, fold, seed=3, market=market)
    c = train_flat_policy(arrays, cfg, fold, seed=4, market=market)
    t = 170
    np.testing.assert_array_equal(a.weights(t), b.weights(t))
    assert not np.allclose(a.weights(t), c.weights(t))
    w = a.weights(t)
    assert w.sum() == pytest.approx(1.0) and (w >= 0).all()
    # data after t change nothing at t (standardisation comes from the training rows, inputs from row t)
    later = dataclasses.replace(arrays, stock_features=arrays.stock_features.copy(), close=arrays.close.copy())
    later.stock_features[t + 1 :] += 3.0
    later.close[t + 1 :] *= 1.5
    moved = dataclasses.replace(a, inputs=flat_inputs(later, fold.train_rows))
    np.testing.assert_array_equal(moved.weights(t), w)


def test_strategy_trains_one_policy_per_fold_and_seed(make_arrays):
    arrays = make_arrays(n_dates=330)
    cfg = small_config()
    plan = walk_forward_splits(arrays.dates, cfg.backtest)
    assert len(plan.folds) >= 2
    strategy = FlatRlStrategy(arrays, cfg, plan)
    wrapped = strategy.as_strategy()
    assert wrapped.name == FLAT_RL and wrapped.seeded
    last = plan.folds[-1]
    w = wrapped.weights(arrays, last.test_start - 1, 1)
    assert set(strategy.policies) == {(last.index, 1)}
    np.testing.assert_array_equal(w, strategy.policies[(last.index, 1)].weights(last.test_start - 1))
    wrapped.weights(arrays, plan.folds[0].test_start, 0)
    assert (0, 0) in strategy.policies
