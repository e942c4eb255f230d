"""Observation and action layouts of the macro and micro agents: the ONE place that defines them.

The policy networks read observations with ``split`` and pretraining builds its inputs with ``build``, so a network
trained in Phase 1/2 sees exactly the layout that PPO/TD3 feed it in Phase 3/4. The layouts are the ones
:class:`~hrl_sarp.envs.macro_env.MacroEnv` and :class:`~hrl_sarp.envs.micro_env.MicroEnv` emit; tests in
``tests/policies/test_layout.py`` check both against the real environments.

Shapes: M macro features (without ``portfolio_drawdown``), S sectors, D embedding size, N padded stock slots,
F stock features. Leading batch dimensions are allowed everywhere (NumPy arrays or torch tensors).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from hrl_sarp.domain import N_REGIMES


def _cat(parts: list[Any]) -> Any:
    if isinstance(parts[0], np.ndarray):
        return np.concatenate(parts, axis=-1)
    import torch

    return torch.cat(parts, dim=-1)


def _flat(x: Any, lead: tuple[int, ...]) -> Any:
    return x.reshape(*lead, -1)


@dataclass(frozen=True)
class MacroObsLayout:
    """Flat macro observation ``[macro (M), portfolio_drawdown (1), embeddings (S*D, sector-major), weights (S)]``.

    Action: ``[sector logits (S), regime logits (3)]`` in [-1, 1].
    """

    n_macro: int
    n_sectors: int
    embedding_dim: int

    @property
    def macro_state_dim(self) -> int:
        """M + 1: the macro features plus ``portfolio_drawdown`` (filled by the environment)."""
        return self.n_macro + 1

    @property
    def size(self) -> int:
        return self.macro_state_dim + self.n_sectors * self.embedding_dim + self.n_sectors

    @property
    def action_dim(self) -> int:
        return self.n_sectors + N_REGIMES

    def build(self, macro: Any, drawdown: Any, embeddings: Any, sector_weights: Any) -> Any:
        """Flatten ``macro (..., M)``, ``drawdown (...,)``, ``embeddings (..., S, D)``, ``sector_weights (..., S)``.

        Returns ``(..., size)`` float32 (NumPy) or the tensors' dtype (torch).
        """
        lead = tuple(macro.shape[:-1])
        parts = [macro, drawdown.reshape(*lead, 1), _flat(embeddings, lead), sector_weights]
        out = _cat(parts)
        return out.astype(np.float32) if isinstance(out, np.ndarray) else out

    def split(self, obs: Any) -> tuple[Any, Any, Any]:
        """``obs (..., size)`` -> ``macro_state (..., M+1)``, ``embeddings (..., S, D)``, ``sector_weights (..., S)``."""
        m, s, d = self.macro_state_dim, self.n_sectors, self.embedding_dim
        lead = tuple(obs.shape[:-1])
        macro_state = obs[..., :m]
        embeddings = obs[..., m : m + s * d].reshape(*lead, s, d)
        weights = obs[..., m + s * d : m + s * d + s]
        return macro_state, embeddings, weights

    def split_action(self, action: Any) -> tuple[Any, Any]:
        """``action (..., S+3)`` -> ``sector_logits (..., S)``, ``regime_logits (..., 3)``."""
        return action[..., : self.n_sectors], action[..., self.n_sectors :]

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class MicroObsLayout:
    """Micro ``Dict`` observation (the layout :class:`hrl_sarp.envs.micro_env.MicroEnv` emits).

    ``observation``: ``[stock features (N*F, stock-major) | stock weights (N) | macro (M) | portfolio_drawdown (1) |
    one-hot regime of the goal (3)]``; ``achieved_goal`` (S) is the sector allocation the stock weights realise and
    ``desired_goal`` (S) the macro agent's sector allocation. Padded slots have zero features and weight.
    Action: N stock logits in [-1, 1].
    """

    n_stocks: int
    n_features: int
    n_macro: int
    n_sectors: int

    @property
    def macro_state_dim(self) -> int:
        return self.n_macro + 1

    @property
    def size(self) -> int:
        """Length of the flat ``observation`` entry."""
        return self.n_stocks * self.n_features + self.n_stocks + self.macro_state_dim + N_REGIMES

    @property
    def action_dim(self) -> int:
        return self.n_stocks

    def build(self, stock_features: Any, stock_weights: Any, macro: Any, drawdown: Any, regime_onehot: Any) -> Any:
        """Flatten ``stock_features (..., N, F)``, ``stock_weights (..., N)``, ``macro (..., M)``,
        ``drawdown (...,)`` and ``regime_onehot (..., 3)`` into the ``observation`` entry ``(..., size)``."""
        lead = tuple(macro.shape[:-1])
        parts = [_flat(stock_features, lead), stock_weights, macro, drawdown.reshape(*lead, 1), regime_onehot]
        out = _cat(parts)
        return out.astype(np.float32) if isinstance(out, np.ndarray) else out

    def split(self, observation: Any) -> tuple[Any, Any, Any, Any]:
        """``observation (..., size)`` -> ``stock_features (..., N, F)``, ``stock_weights (..., N)``,
        ``macro_state (..., M+1)`` (macro then drawdown), ``regime_onehot (..., 3)``."""
        n, f, m = self.n_stocks, self.n_features, self.macro_state_dim
        lead = tuple(observation.shape[:-1])
        features = observation[..., : n * f].reshape(*lead, n, f)
        weights = observation[..., n * f : n * f + n]
        macro_state = observation[..., n * f + n : n * f + n + m]
        regime = observation[..., n * f + n + m :]
        return features, weights, macro_state, regime

    def to_dict(self) -> dict[str, int]:
        return asdict(self)
