"""Changing any data after t changes no observation, action or reward up to t."""

import dataclasses

import numpy as np
import pytest

from hrl_sarp.config import Config, RewardConfig
from hrl_sarp.envs.macro_env import MacroEnv
from hrl_sarp.envs.micro_env import MicroEnv

T_STAR = 70


def _garbage_after(arrays, t_star, seed=99):
    """Same data up to row t_star, unrelated values after it; the forward-looking labels are garbage throughout."""
    rng = np.random.default_rng(seed)
    after = slice(t_star + 1, None)
    changed = {}
    for field in dataclasses.fields(arrays):
        value = getattr(arrays, field.name)
        if not isinstance(value, np.ndarray) or value.ndim == 0 or len(value) != arrays.n_dates:
            continue
        if field.name == "dates":
            continue
        new = value.copy()
        tail = new[after]
        if new.dtype == bool:
            new[after] = rng.random(tail.shape) < 0.5
        elif np.issubdtype(new.dtype, np.integer):
            new[after] = rng.integers(0, 3, tail.shape)
        elif field.name in ("close", "open", "adv_value"):
            new[after] = rng.uniform(1.0, 1e4, tail.shape)
        else:
            new[after] = rng.normal(0.0, 5.0, tail.shape)
        changed[field.name] = new
    changed["forward_returns"] = rng.normal(0.0, 1.0, arrays.forward_returns.shape)
    return dataclasses.replace(arrays, **changed)


def _policy(obs_vector: np.ndarray, size: int) -> np.ndarray:
    """A deterministic function of the observation."""
    x = np.resize(np.asarray(obs_vector, dtype=np.float64), size)
    return np.tanh(np.sin(x * 3.0 + np.arange(size))).astype(np.float32)


@pytest.mark.parametrize("mode", ["seed", "attributed"])
def test_micro_env_ignores_data_after_t(make_arrays, mode):
    a = make_arrays(n_dates=120, n_stocks=9, n_sectors=3)
    b = _garbage_after(a, T_STAR)
    config = Config(rewards=RewardConfig(mode=mode))
    k = config.rl.micro_rebalance_days if mode == "attributed" else 1  # sessions a decision is held
    runs = []
    for arrays in (a, b):
        env = MicroEnv(arrays, config)
        obs, _ = env.reset(options={"start": 50})
        log = []
        for _ in range(40 // k):
            t = env.sim.t
            action = _policy(obs["observation"], 9)
            obs_t = {k: v.copy() for k, v in obs.items()}
            obs, reward, _, _, info = env.step(action)
            log.append((t, obs_t, action, reward, info["nav"]))
        runs.append(log)
    compared = 0
    for (t, obs_a, act_a, r_a, nav_a), (_, obs_b, act_b, r_b, nav_b) in zip(*runs, strict=True):
        if t <= T_STAR:
            for key in obs_a:
                np.testing.assert_array_equal(obs_a[key], obs_b[key])
            np.testing.assert_array_equal(act_a, act_b)
        if t + k <= T_STAR:  # the reward of a decision at t is realised at the close of t+k
            assert r_a == r_b and nav_a == nav_b
            compared += 1
    assert compared == len([t for t in range(50, T_STAR + 1, k) if t + k <= T_STAR])
    assert runs[0][-1][3] != runs[1][-1][3]  # the garbage does matter after t


def test_macro_env_ignores_data_after_t(make_arrays, embeddings_from):
    a = make_arrays(n_dates=120, n_stocks=9, n_sectors=3)
    b = _garbage_after(a, T_STAR)
    emb_a = embeddings_from(a)
    emb_b = embeddings_from(b)  # derived from the data, so weeks ending after t differ
    assert not np.array_equal(emb_a, emb_b)
    runs = []
    for arrays, emb in ((a, emb_a), (b, emb_b)):
        env = MacroEnv(arrays, Config(), emb)
        obs, _ = env.reset(options={"start": 34})
        log = []
        for _ in range(8):
            action = _policy(obs, 6)
            obs_t = obs.copy()
            obs, reward, _, _, info = env.step(action)
            log.append((info["t"], info["t_end"], obs_t, action, reward))
        runs.append(log)
    compared = 0
    for (t0, t1, obs_a, act_a, r_a), (_, _, obs_b, act_b, r_b) in zip(*runs, strict=True):
        if t0 <= T_STAR:
            np.testing.assert_array_equal(obs_a, obs_b)
            np.testing.assert_array_equal(act_a, act_b)
        if t1 <= T_STAR:
            assert r_a == r_b
            compared += 1
    assert compared == 7  # steps ending at 39, 44, ..., 69
