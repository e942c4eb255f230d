"""A frozen agent seen from the other layer: actors, the micro layer inside MacroEnv, the macro goal schedule.

An *actor* maps one observation (the macro ``(D,)`` array or the micro ``Dict``) to one action in [-1, 1]:
:func:`network_actor` wraps a pretrained extractor (``.act``), :class:`ModelActor` an SB3 model (deterministic;
a recurrent policy keeps its state until :meth:`ModelActor.reset`).

Shapes: T dates, N stocks, N_max padded slots, F stock features, M macro features, S sectors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from hrl_sarp.config import Config
from hrl_sarp.domain import N_REGIMES
from hrl_sarp.envs.goals import SIDEWAYS, ScheduledGoal, goal_matched
from hrl_sarp.envs.macro_env import allocate
from hrl_sarp.envs.weights import masked_softmax
from hrl_sarp.features.arrays import FeatureArrays
from hrl_sarp.policies.layout import MacroObsLayout, MicroObsLayout

if TYPE_CHECKING:
    from hrl_sarp.envs.simulator import MarketArrays, PortfolioSimulator

Actor = Callable[[Any], np.ndarray]


def network_actor(network: torch.nn.Module) -> Actor:
    """Actor of a pretrained features extractor (``network.act``) in eval mode, batch of one."""
    network.eval()

    def act(obs: Any) -> np.ndarray:
        with torch.no_grad():
            if isinstance(obs, dict):
                batch = {k: torch.as_tensor(np.asarray(v, dtype=np.float32))[None] for k, v in obs.items()}
            else:
                batch = torch.as_tensor(np.asarray(obs, dtype=np.float32))[None]
            return network.act(batch)[0].numpy().astype(np.float64)

    return act


class ModelActor:
    """Deterministic actor of an SB3 model; a recurrent model's hidden state runs until :meth:`reset`."""

    def __init__(self, model: Any):
        self.model = model
        self.recurrent = type(model).__name__ == "RecurrentPPO"
        self.reset()

    def reset(self) -> None:
        self._state = None
        self._start = np.ones((1,), dtype=bool)

    def __call__(self, obs: Any) -> np.ndarray:
        if self.recurrent:
            action, self._state = self.model.predict(
                obs, state=self._state, episode_start=self._start, deterministic=True
            )
            self._start = np.zeros((1,), dtype=bool)
        else:
            action, _ = self.model.predict(obs, deterministic=True)
        return np.asarray(action, dtype=np.float64)


def micro_layout(arrays: FeatureArrays, cfg: Config) -> MicroObsLayout:
    n_max = max(cfg.env.max_stocks, arrays.n_stocks)
    return MicroObsLayout(n_max, arrays.stock_features.shape[2], arrays.macro.shape[1], arrays.n_sectors)


class MicroObservation:
    """Builds MicroEnv's observation for any (t, holdings, goal) so a frozen micro policy can act inside MacroEnv.

    Same layout and neutral filling as :class:`~hrl_sarp.envs.micro_env.MicroEnv` (``tests/rl`` checks both agree).
    """

    def __init__(self, arrays: FeatureArrays, cfg: Config, tradable: np.ndarray | None = None):
        self.layout = micro_layout(arrays, cfg)
        self._tradable = np.asarray(arrays.tradable if tradable is None else tradable, dtype=np.float64)
        n, n_max = arrays.n_stocks, self.layout.n_stocks
        feats = np.zeros((arrays.n_dates, n_max, self.layout.n_features), dtype=np.float32)
        feats[:, :n] = np.nan_to_num(arrays.stock_features, nan=0.0, posinf=0.0, neginf=0.0)
        self._features = feats
        self._macro = np.nan_to_num(np.asarray(arrays.macro, dtype=np.float32))
        self._n = n
        self._sector_of = np.asarray(arrays.stock_sector, dtype=np.int64)
        self._n_sectors = arrays.n_sectors

    def __call__(
        self, t: int, weights: np.ndarray, drawdown: float, goal: np.ndarray, regime: int
    ) -> dict[str, np.ndarray]:
        """weights (N,) held, goal (S,) sector weights -> the ``Dict`` observation."""
        padded = np.zeros(self.layout.n_stocks, dtype=np.float32)
        padded[: self._n] = weights
        onehot = np.zeros(N_REGIMES, dtype=np.float32)
        onehot[int(regime)] = 1.0
        observation = self.layout.build(
            self._features[t], padded, self._macro[t], np.asarray(drawdown, dtype=np.float32), onehot
        )
        sector = np.bincount(self._sector_of, weights=weights, minlength=self._n_sectors)
        invested = float(weights.sum())
        if invested > 0:
            achieved = (sector / invested).astype(np.float32)
        else:  # in cash: equal weights over the sectors with a tradable name, as MicroEnv starts an episode
            has = np.bincount(self._sector_of, weights=self._tradable[t], minlength=self._n_sectors) > 0
            achieved = (has / max(int(has.sum()), 1)).astype(np.float32)
        return {"observation": observation, "achieved_goal": achieved, "desired_goal": goal.astype(np.float32)}


class PolicyMicroLayer:
    """A frozen micro policy as MacroEnv's micro layer: on every ``rebalance_days``-th session of a macro step it
    turns the actor's stock logits into ``softmax(logit_scale * a)`` over the names tradable at t, optionally
    rescaled to the macro sector weights (:func:`goal_matched`); it holds on the other sessions."""

    def __init__(
        self,
        actor: Actor,
        arrays: FeatureArrays,
        market: MarketArrays,
        cfg: Config,
        goal_matching: bool | None = None,
        rebalance_days: int | None = None,
    ):
        self.actor = actor
        self.observe = MicroObservation(arrays, cfg, market.tradable)
        self.tradable = market.tradable
        self.sector_of = market.sector_of
        self.n = arrays.n_stocks
        self.logit_scale = cfg.env.logit_scale
        self.goal_matching = cfg.rl.micro_goal_matching if goal_matching is None else goal_matching
        self.rebalance_days = rebalance_days or cfg.rl.micro_rebalance_days

    def __call__(
        self, t: int, sector_weights: np.ndarray, regime: int, day_in_step: int, simulator: PortfolioSimulator
    ) -> np.ndarray | None:
        if day_in_step % self.rebalance_days:
            return None
        obs = self.observe(t, simulator.weights, simulator.drawdown, sector_weights, regime)
        logits = self.logit_scale * np.asarray(self.actor(obs), dtype=np.float64)[: self.n]
        proposal = masked_softmax(logits, self.tradable[t])
        return goal_matched(proposal, sector_weights, self.sector_of) if self.goal_matching else proposal


def macro_goal_schedule(
    actor: Actor,
    arrays: FeatureArrays,
    embeddings: np.ndarray,
    cfg: Config,
    tradable: np.ndarray,
) -> ScheduledGoal:
    """The frozen macro policy's goals for every row: decided at each week end t with data <= t (portfolio
    drawdown 0, current sector weights = the previous decision) and held until the next week end; rows before the
    first week end get equal weights / Sideways.

    embeddings (W, S, D) aligned with ``arrays.week_end_index``; tradable (T, N) bool.
    """
    s = arrays.n_sectors
    weeks = np.asarray(arrays.week_end_index, dtype=np.int64)
    reset = getattr(actor, "reset", None)
    if reset is not None:  # a recurrent policy starts every schedule from a fresh state
        reset()
    layout = MacroObsLayout(arrays.macro.shape[1], s, embeddings.shape[2])
    macro = np.nan_to_num(np.asarray(arrays.macro, dtype=np.float64))
    emb = np.nan_to_num(embeddings)
    member = np.zeros((arrays.n_stocks, s))
    member[np.arange(arrays.n_stocks), arrays.stock_sector] = 1.0
    has_stock = (tradable.astype(np.float64) @ member) > 0
    goals = np.full((arrays.n_dates, s), 1.0 / s)
    regimes = np.full(arrays.n_dates, SIDEWAYS, dtype=np.int64)
    current = np.full(s, 1.0 / s)
    previous: np.ndarray | None = None
    bounds = np.append(weeks, arrays.n_dates)
    for w, t in enumerate(weeks):
        obs = layout.build(macro[t], np.zeros(()), emb[w], current)
        action = np.asarray(actor(obs), dtype=np.float64)
        current = previous = allocate(cfg, action[:s], has_stock[t], previous)
        goals[t : bounds[w + 1]] = current
        regimes[t : bounds[w + 1]] = int(np.argmax(action[s:]))
    return ScheduledGoal(goals, regimes)
