"""The micro agent's network: a features extractor for the ``Dict`` observation that TD3 (Phase 4) uses as is.

One stock encoder is shared across stock slots; it reads ``[standardised stock features_i, N * weight_i,
S * goal_{sector(i)}, log goal_{sector(i)}, S * achieved_{sector(i)}, context of (macro state, goal regime)]`` and scores each
slot; a linear term in the stock's own inputs is added to the score. The extractor's output is ``[stock scores (N), pooled context (H)]``; :class:`MicroPolicy`'s actor reads the
scores through an identity layer followed by SB3's tanh, so the TD3 actor equals :meth:`MicroFeaturesExtractor.act`
(= tanh(scores)). The stock -> sector map is fixed per universe and stored as a buffer (padded slots: -1).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.td3.policies import TD3Policy
from torch import nn

from hrl_sarp.domain import N_REGIMES
from hrl_sarp.policies.layout import MicroObsLayout

_STD_FLOOR = 1e-6
_GOAL_FLOOR = 1e-4


def observation_space(layout: MicroObsLayout) -> gym.spaces.Dict:
    """The micro ``Dict`` observation space (goal spaces are sector allocations in [0, 1])."""
    return gym.spaces.Dict(
        {
            "observation": gym.spaces.Box(-np.inf, np.inf, shape=(layout.size,), dtype=np.float32),
            "achieved_goal": gym.spaces.Box(0.0, 1.0, shape=(layout.n_sectors,), dtype=np.float32),
            "desired_goal": gym.spaces.Box(0.0, 1.0, shape=(layout.n_sectors,), dtype=np.float32),
        }
    )


def action_space(layout: MicroObsLayout) -> gym.spaces.Box:
    return gym.spaces.Box(-1.0, 1.0, shape=(layout.action_dim,), dtype=np.float32)


class MicroFeaturesExtractor(BaseFeaturesExtractor):
    """SB3 features extractor and Phase 2 network for ``MicroObsLayout(n_stocks, n_features, n_macro, n_sectors)``.

    ``stock_sector (N,)`` maps each stock slot to its sector index (-1 for padding).
    ``forward(obs dict) -> (B, N + hidden_dim)`` (pre-tanh scores, then context).
    """

    def __init__(
        self,
        observation_space: gym.spaces.Dict,
        n_stocks: int,
        n_features: int,
        n_macro: int,
        n_sectors: int,
        stock_sector: Sequence[int],
        hidden_dim: int = 64,
        dropout: float = 0.0,
    ) -> None:
        self.layout = MicroObsLayout(n_stocks, n_features, n_macro, n_sectors)
        super().__init__(observation_space, features_dim=n_stocks + hidden_dim)
        if observation_space["observation"].shape != (self.layout.size,):
            raise ValueError(
                f"micro observation has shape {observation_space['observation'].shape}, layout expects {self.layout.size}"
            )
        sector_index = np.asarray(stock_sector, dtype=np.int64)
        if sector_index.shape != (n_stocks,) or sector_index.max() >= n_sectors:
            raise ValueError("stock_sector must hold one sector index (or -1) per stock slot")
        self.stock_sector = [int(s) for s in sector_index]
        onehot = np.zeros((n_stocks, n_sectors), dtype=np.float32)
        valid = sector_index >= 0
        onehot[np.flatnonzero(valid), sector_index[valid]] = 1.0
        m, f, h = self.layout.macro_state_dim, n_features, hidden_dim
        self.register_buffer("sector_onehot", torch.as_tensor(onehot))
        self.register_buffer("feature_mean", torch.zeros(f))
        self.register_buffer("feature_std", torch.ones(f))
        self.register_buffer("macro_mean", torch.zeros(m))
        self.register_buffer("macro_std", torch.ones(m))
        self.macro_encoder = nn.Sequential(nn.Linear(m + N_REGIMES, h), nn.ReLU())
        self.stock_encoder = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(f + 4 + h, h), nn.ReLU(), nn.Dropout(dropout), nn.Linear(h, h), nn.ReLU()
        )
        self.stock_score = nn.Linear(h, 1)
        # A linear path over each stock's own inputs (a cross-sectional factor model plus the goal terms), the part
        # a noisy next-period label supports; the MLP adds macro-dependent, non-linear corrections.
        self.stock_linear = nn.Linear(f + 4, 1)
        with torch.no_grad():
            self.stock_linear.weight.zero_()
            self.stock_linear.bias.zero_()
            self.stock_score.weight.mul_(0.1)
            self.stock_score.bias.zero_()

    @property
    def action_dim(self) -> int:
        return self.layout.action_dim

    def set_normalization(
        self, feature_mean: np.ndarray, feature_std: np.ndarray, macro_mean: np.ndarray, macro_std: np.ndarray
    ) -> None:
        """Standardisation statistics: ``feature_* (F,)``, ``macro_* (M+1,)``; std is floored."""
        for name, value in (
            ("feature_mean", feature_mean),
            ("feature_std", np.maximum(feature_std, _STD_FLOOR)),
            ("macro_mean", macro_mean),
            ("macro_std", np.maximum(macro_std, _STD_FLOOR)),
        ):
            getattr(self, name).copy_(torch.as_tensor(np.asarray(value), dtype=torch.float32))

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        features, weights, macro_state, regime = self.layout.split(observations["observation"])
        n, s = self.layout.n_stocks, self.layout.n_sectors
        real = self.sector_onehot.sum(-1)  # (N,) 1 for stock slots, 0 for padding
        goal = observations["desired_goal"] @ self.sector_onehot.T  # (B, N) goal weight of each stock's sector
        achieved = observations["achieved_goal"] @ self.sector_onehot.T
        context = self.macro_encoder(torch.cat([(macro_state - self.macro_mean) / self.macro_std, regime], dim=-1))
        x = (features - self.feature_mean) / self.feature_std * real.unsqueeze(-1)
        own = torch.cat(
            [x, torch.stack([weights * n, goal * s, torch.log(goal.clamp_min(_GOAL_FLOOR)), achieved * s], dim=-1)],
            dim=-1,
        )
        per_stock = torch.cat([own, context.unsqueeze(-2).expand(*x.shape[:-1], context.shape[-1])], dim=-1)
        hidden = self.stock_encoder(per_stock)
        scores = self.stock_score(hidden).squeeze(-1) + self.stock_linear(own).squeeze(-1)
        pooled = (hidden * real.unsqueeze(-1)).sum(-2) / real.sum().clamp_min(1.0)
        return torch.cat([scores, pooled + context], dim=-1)

    def act(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        """The action ``(B, N)`` in [-1, 1]: tanh of the stock scores."""
        return torch.tanh(self.forward(observations)[..., : self.action_dim])


def _select_first(linear: nn.Linear, n: int) -> None:
    with torch.no_grad():
        linear.weight.zero_()
        linear.weight[:, :n] = torch.eye(n, dtype=linear.weight.dtype)
        linear.bias.zero_()


class MicroPolicy(TD3Policy):
    """TD3 policy on :class:`MicroFeaturesExtractor`: actor ``mu = tanh(identity(scores))``, critics on the same
    extractor class with ``net_arch=dict(pi=[], qf=[256, 256])`` by default. Pass ``features_extractor_kwargs``
    from :func:`micro_policy_kwargs`."""

    def __init__(self, observation_space: gym.spaces.Space, action_space: gym.spaces.Box, lr_schedule, **kwargs: Any):
        kwargs.setdefault("features_extractor_class", MicroFeaturesExtractor)
        kwargs.setdefault("net_arch", dict(pi=[], qf=[256, 256]))
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)

    def make_actor(self, features_extractor: BaseFeaturesExtractor | None = None):
        actor = super().make_actor(features_extractor)
        _select_first(actor.mu[0], self.action_space.shape[0])
        return actor


def micro_policy_kwargs(
    layout: MicroObsLayout, stock_sector: Sequence[int], hidden_dim: int = 64, dropout: float = 0.0, **extra: Any
):
    """``policy_kwargs`` for ``TD3(MicroPolicy, env, policy_kwargs=...)`` matching a pretrained network."""
    kwargs = dict(
        features_extractor_kwargs=dict(
            n_stocks=layout.n_stocks,
            n_features=layout.n_features,
            n_macro=layout.n_macro,
            n_sectors=layout.n_sectors,
            stock_sector=[int(s) for s in stock_sector],
            hidden_dim=hidden_dim,
            dropout=dropout,
        )
    )
    kwargs.update(extra)
    return kwargs


def load_pretrained_micro(model: Any, state_dict: dict[str, torch.Tensor]) -> None:
    """Copy Phase 2 weights into a TD3 model (or its policy): actor, actor target and both critics' extractors."""
    policy = getattr(model, "policy", model)
    policy.actor.features_extractor.load_state_dict(state_dict)
    _select_first(policy.actor.mu[0], policy.action_space.shape[0])
    policy.actor_target.load_state_dict(policy.actor.state_dict())
    for critic in (policy.critic, policy.critic_target):
        if critic.features_extractor is not policy.actor.features_extractor:
            critic.features_extractor.load_state_dict(state_dict)
