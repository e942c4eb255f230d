"""The macro agent's network: a features extractor that PPO (Phase 3) uses as is after Phase 1 pretraining.

One sector encoder is shared across sectors; it reads ``[standardised sector block_s, macro context, sector
identity_s, S * current weight_s]`` and scores each sector (the sector block is the GNN embedding followed by the
build's sector features, :func:`hrl_sarp.rl.inputs.macro_sector_inputs`); a linear per-sector macro loading and a
linear read of the sector block shared across sectors are added to the score. A regime head reads the macro context and the pooled sector states, plus a linear term in the macro state.
Dropout (training only) regularises the MLP paths; SB3 runs the extractor in eval mode for predictions. The extractor's output is ``[tanh(sector scores) (S), tanh(regime logits) (3), macro context (H)]``;
:class:`MacroPolicy` reads the first ``S + 3`` entries through an identity ``action_net`` so the deterministic PPO
action equals the pretrained network's :meth:`MacroFeaturesExtractor.act` on the same observation.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from hrl_sarp.policies.layout import MacroObsLayout

_STD_FLOOR = 1e-6


def observation_space(layout: MacroObsLayout) -> gym.spaces.Box:
    """The flat macro observation space (unbounded floats)."""
    return gym.spaces.Box(-np.inf, np.inf, shape=(layout.size,), dtype=np.float32)


def action_space(layout: MacroObsLayout) -> gym.spaces.Box:
    return gym.spaces.Box(-1.0, 1.0, shape=(layout.action_dim,), dtype=np.float32)


class MacroFeaturesExtractor(BaseFeaturesExtractor):
    """SB3 features extractor and Phase 1 network for ``MacroObsLayout(n_macro, n_sectors, embedding_dim)``.

    ``forward(obs (B, layout.size)) -> (B, S + 3 + hidden_dim)``. Input standardisation statistics are buffers
    (set from the training split by :meth:`set_normalization`) so raw environment observations can be fed directly.
    """

    def __init__(
        self,
        observation_space: gym.spaces.Box,
        n_macro: int,
        n_sectors: int,
        embedding_dim: int,
        hidden_dim: int = 64,
        sector_id_dim: int = 8,
        dropout: float = 0.0,
    ) -> None:
        self.layout = MacroObsLayout(n_macro, n_sectors, embedding_dim)
        super().__init__(observation_space, features_dim=self.layout.action_dim + hidden_dim)
        if observation_space.shape != (self.layout.size,):
            raise ValueError(
                f"macro observation has shape {observation_space.shape}, layout expects {self.layout.size}"
            )
        m, s, d, h = self.layout.macro_state_dim, n_sectors, embedding_dim, hidden_dim
        self.register_buffer("macro_mean", torch.zeros(m))
        self.register_buffer("macro_std", torch.ones(m))
        self.register_buffer("embedding_mean", torch.zeros(d))
        self.register_buffer("embedding_std", torch.ones(d))
        self.macro_encoder = nn.Sequential(nn.Linear(m, h), nn.ReLU(), nn.Dropout(dropout), nn.Linear(h, h), nn.ReLU())
        self.sector_id = nn.Parameter(0.1 * torch.randn(s, sector_id_dim))
        self.sector_encoder = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(d + h + sector_id_dim + 1, h),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(h, h),
            nn.ReLU(),
        )
        self.sector_score = nn.Linear(h, 1)
        self.regime_head = nn.Sequential(nn.Linear(2 * h, h), nn.ReLU(), nn.Dropout(dropout), nn.Linear(h, 3))
        # Linear paths from the macro state: per-sector macro loadings and a linear regime model, the part of the
        # signal that a small sample supports; the MLPs add non-linear corrections on top.
        self.sector_linear = nn.Linear(m, s)
        # ... and one linear read of each sector's own block (embedding and sector features), shared across sectors
        self.sector_state_linear = nn.Linear(d, 1) if d else None
        self.regime_linear = nn.Linear(m, 3)
        # start near "uniform allocation, prior-free regime": zero linear paths, small output layers
        with torch.no_grad():
            for layer in (self.sector_linear, self.sector_state_linear, self.regime_linear):
                if layer is None:
                    continue
                layer.weight.zero_()
                layer.bias.zero_()
            for layer in (self.sector_score, self.regime_head[-1]):
                layer.weight.mul_(0.1)
                layer.bias.zero_()

    @property
    def action_dim(self) -> int:
        return self.layout.action_dim

    def set_normalization(
        self, macro_mean: np.ndarray, macro_std: np.ndarray, embedding_mean: np.ndarray, embedding_std: np.ndarray
    ) -> None:
        """Standardisation statistics: ``macro_* (M+1,)``, ``embedding_* (D,)``; std is floored."""
        for name, value in (
            ("macro_mean", macro_mean),
            ("macro_std", np.maximum(macro_std, _STD_FLOOR)),
            ("embedding_mean", embedding_mean),
            ("embedding_std", np.maximum(embedding_std, _STD_FLOOR)),
        ):
            getattr(self, name).copy_(torch.as_tensor(np.asarray(value), dtype=torch.float32))

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        macro_state, embeddings, weights = self.layout.split(observations)
        s = self.layout.n_sectors
        x_macro = (macro_state - self.macro_mean) / self.macro_std
        context = self.macro_encoder(x_macro)
        emb = (embeddings - self.embedding_mean) / self.embedding_std
        lead = emb.shape[:-1]  # (B, S)
        per_sector = torch.cat(
            [
                emb,
                context.unsqueeze(-2).expand(*lead, context.shape[-1]),
                self.sector_id.expand(*lead, self.sector_id.shape[-1]),
                (weights * s).unsqueeze(-1),
            ],
            dim=-1,
        )
        hidden = self.sector_encoder(per_sector)
        scores = self.sector_score(hidden).squeeze(-1) + self.sector_linear(x_macro)
        if self.sector_state_linear is not None:
            scores = scores + self.sector_state_linear(emb).squeeze(-1)
        regime = self.regime_head(torch.cat([context, hidden.mean(dim=-2)], dim=-1)) + self.regime_linear(x_macro)
        return torch.cat([torch.tanh(torch.cat([scores, regime], dim=-1)), context], dim=-1)

    def act(self, observations: torch.Tensor) -> torch.Tensor:
        """The action ``(B, S + 3)`` in [-1, 1]: sector logits then regime logits."""
        return self.forward(observations)[..., : self.action_dim]


def _select_first(linear: nn.Linear, n: int) -> None:
    """Make ``linear`` return the first ``n`` of its inputs unchanged."""
    with torch.no_grad():
        linear.weight.zero_()
        linear.weight[:, :n] = torch.eye(n, dtype=linear.weight.dtype)
        linear.bias.zero_()


class MacroPolicy(ActorCriticPolicy):
    """PPO policy on :class:`MacroFeaturesExtractor` with an identity action head.

    Defaults: separate actor/critic extractors (value-loss gradients do not disturb the pretrained actor),
    no extra policy layers (``net_arch=dict(pi=[], vf=[64, 64])``), ``log_std_init=-1`` (exploration noise of about
    0.37 on logits in [-1, 1]). Pass ``features_extractor_kwargs`` from :func:`macro_policy_kwargs`.
    """

    def __init__(self, observation_space: gym.spaces.Space, action_space: gym.spaces.Box, lr_schedule, **kwargs: Any):
        kwargs.setdefault("features_extractor_class", MacroFeaturesExtractor)
        kwargs.setdefault("net_arch", dict(pi=[], vf=[64, 64]))
        kwargs.setdefault("share_features_extractor", False)
        kwargs.setdefault("log_std_init", -1.0)
        kwargs.setdefault("ortho_init", False)
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)

    def _build(self, lr_schedule) -> None:
        super()._build(lr_schedule)
        _select_first(self.action_net, self.action_space.shape[0])


def macro_policy_kwargs(
    layout: MacroObsLayout, hidden_dim: int = 64, sector_id_dim: int = 8, dropout: float = 0.0, **extra: Any
) -> dict:
    """``policy_kwargs`` for ``PPO(MacroPolicy, env, policy_kwargs=...)`` matching a pretrained network."""
    kwargs = dict(
        features_extractor_kwargs=dict(
            n_macro=layout.n_macro,
            n_sectors=layout.n_sectors,
            embedding_dim=layout.embedding_dim,
            hidden_dim=hidden_dim,
            sector_id_dim=sector_id_dim,
            dropout=dropout,
        )
    )
    kwargs.update(extra)
    return kwargs


def load_pretrained_macro(model: Any, state_dict: dict[str, torch.Tensor]) -> None:
    """Copy Phase 1 weights into a PPO model (or its policy): both extractors, identity action head."""
    policy = getattr(model, "policy", model)
    extractors = {id(e): e for e in (policy.pi_features_extractor, policy.vf_features_extractor)}
    for extractor in extractors.values():
        extractor.load_state_dict(state_dict)
    _select_first(policy.action_net, policy.action_space.shape[0])
