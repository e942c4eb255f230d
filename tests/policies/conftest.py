"""Minimal environments with the agents' spaces, for building SB3 models around the policies."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from hrl_sarp.policies import macro, micro
from hrl_sarp.policies.layout import MacroObsLayout, MicroObsLayout


class SpaceEnv(gym.Env):
    """Random observations from the given spaces; one-step episodes; optional HER ``compute_reward``."""

    def __init__(self, observation_space, action_space):
        self.observation_space, self.action_space = observation_space, action_space

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        return self._obs(), {}

    def step(self, action):
        return self._obs(), 0.0, True, False, {}

    def _obs(self):
        sample = self.observation_space.sample()
        if isinstance(sample, dict):
            sample["achieved_goal"] = sample["achieved_goal"] / max(sample["achieved_goal"].sum(), 1e-6)
            sample["desired_goal"] = sample["desired_goal"] / max(sample["desired_goal"].sum(), 1e-6)
            sample["observation"] = np.clip(sample["observation"], -3, 3)
        else:
            sample = np.clip(sample, -3, 3)
        return sample


class GoalEnv(SpaceEnv):
    def compute_reward(self, achieved_goal, desired_goal, info):
        return -np.abs(np.asarray(achieved_goal) - np.asarray(desired_goal)).sum(axis=-1)


@pytest.fixture
def macro_layout():
    return MacroObsLayout(n_macro=5, n_sectors=4, embedding_dim=3)


@pytest.fixture
def micro_layout():
    return MicroObsLayout(n_stocks=7, n_features=4, n_macro=5, n_sectors=3)


@pytest.fixture
def stock_sector():
    return [0, 0, 1, 1, 2, 2, -1]  # the last slot is padding


@pytest.fixture
def macro_env(macro_layout):
    return SpaceEnv(macro.observation_space(macro_layout), macro.action_space(macro_layout))


@pytest.fixture
def micro_env(micro_layout):
    return GoalEnv(micro.observation_space(micro_layout), micro.action_space(micro_layout))
