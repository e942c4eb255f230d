"""Walk-forward training of the sector GNN: strictly causal embeddings for every week.

At each refit anchor week ``a`` the model is trained only on weeks ``w < a`` (their labels, the returns of week
``w + 1``, are known at the close of week ``a``) and then embeds the weeks ``[a, next anchor)``. Anchors start once
``min_train_weeks`` labelled weeks exist and repeat every ``refit_every_weeks`` while the anchor week lies inside
the training split; after that the last model is frozen and embeds every later (validation and test) week. Each
refit starts from the previous anchor's weights, which keeps the embedding space continuous across refits, and
standardises node features with statistics of its own training weeks. Weeks before the first anchor get no
embedding.

Shapes: W weeks, S sectors, F node features, D embedding dims, P = S(S-1)/2 sector pairs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from hrl_sarp.errors import InputError
from hrl_sarp.gnn.model import SectorGnn, all_pairs, graphs_to_batch, listnet_loss, standardised_ranks
from hrl_sarp.threads import single_thread

FEATURE_CLIP = 5.0


@dataclass(frozen=True)
class GnnEpoch:
    """One finished epoch of a walk-forward fit, as passed to ``on_epoch``: the ``anchor``-th of ``n_anchors`` refits
    (0-based) trained on ``train_weeks`` weeks, its ``epoch``-th of ``n_epochs`` epochs (0-based), and the losses."""

    anchor: int
    n_anchors: int
    epoch: int
    n_epochs: int
    train_weeks: int
    loss_rank: float
    loss_recon: float


@dataclass(frozen=True)
class TrainSettings:
    """Hyperparameters of one walk-forward fit (mirrors ``GnnConfig``)."""

    encoder: str = "gcn"
    hidden_dim: int = 32
    embedding_dim: int = 64
    epochs: int = 60
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    ranking_weight: float = 1.0
    reconstruction_weight: float = 0.5
    dropout: float = 0.1
    min_train_weeks: int = 104
    refit_every_weeks: int = 52
    seed: int = 42
    freeze_head_on_refit: bool = True


@dataclass(frozen=True)
class WalkForwardPlan:
    anchors: np.ndarray  # (K,) week index of each refit
    segment: np.ndarray  # (W,) index into ``anchors`` of the model that embeds week w; -1 = no embedding
    train_end_week: int  # last week whose end lies inside the training split


@dataclass
class AnchorModel:
    anchor_week: int
    train_weeks: int
    feature_mean: np.ndarray  # (F,)
    feature_std: np.ndarray  # (F,)
    state_dict: dict[str, torch.Tensor]
    loss_rank: list[float] = field(default_factory=list)  # per epoch
    loss_recon: list[float] = field(default_factory=list)  # per epoch


@dataclass
class WalkForwardResult:
    plan: WalkForwardPlan
    embeddings: np.ndarray  # (W, S, D) float64, NaN where not embedded
    embedded: np.ndarray  # (W,) bool
    scores: np.ndarray  # (W, S) ranking-head scores, NaN where not embedded
    pair_scores: np.ndarray  # (W, P) link-decoder logits, NaN where not embedded
    models: list[AnchorModel]


def plan_walk_forward(
    valid: np.ndarray,
    week_end_index: np.ndarray,
    n_dates: int,
    train_fraction: float,
    min_train_weeks: int,
    refit_every_weeks: int,
) -> WalkForwardPlan:
    """Refit anchors inside the training split and the model that embeds each week.

    valid: (W,) bool weeks with full inputs; week_end_index: (W,) row of each week's last session; n_dates: T.
    The training split is the first ``floor(T * train_fraction)`` dates; an anchor's own week must end inside
    it, so no model ever sees a label from after the split.
    """
    ends = np.asarray(week_end_index)
    train_end_row = int(n_dates * train_fraction) - 1
    inside = np.flatnonzero(ends <= train_end_row)
    if len(inside) == 0:
        raise InputError("training split holds no complete week", column="splits.train_fraction")
    train_end_week = int(inside[-1])
    labelled_before = np.concatenate([[0], np.cumsum(valid)])  # labelled_before[a] = valid weeks w < a
    candidates = np.flatnonzero(labelled_before[: len(ends)] >= min_train_weeks)
    if len(candidates) == 0 or candidates[0] > train_end_week:
        have = int(labelled_before[train_end_week])
        raise InputError(
            f"only {have} usable weeks before the end of the training split, {min_train_weeks} needed; "
            "lower gnn.min_train_weeks or use a longer history",
            column="gnn.min_train_weeks",
        )
    anchors = np.arange(candidates[0], train_end_week + 1, refit_every_weeks)
    segment = np.searchsorted(anchors, np.arange(len(ends)), side="right") - 1
    segment = np.where(valid, segment, -1)
    return WalkForwardPlan(anchors=anchors, segment=segment, train_end_week=train_end_week)


def _standardise(features: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    return np.clip((features - mean) / std, -FEATURE_CLIP, FEATURE_CLIP)


def fit_walk_forward(
    node_features: np.ndarray,
    adjacency: np.ndarray,
    labels: np.ndarray,
    valid: np.ndarray,
    plan: WalkForwardPlan,
    settings: TrainSettings,
    on_epoch: Callable[[GnnEpoch], None] | None = None,
) -> WalkForwardResult:
    """Train one model per anchor (warm-started from the previous one) and embed every week it owns.

    node_features: (W, S, F) raw node features; adjacency: (W, S, S) non-negative edge weights; labels: (W, S)
    next-week sector returns (the label of week w is known at week w + 1); valid: (W,) bool weeks with full
    inputs. ``on_epoch(GnnEpoch)`` is called after every epoch.
    """
    n_weeks, n_sectors, n_features = node_features.shape
    pairs_i, pairs_j = np.triu_indices(n_sectors, k=1)
    embeddings = np.full((n_weeks, n_sectors, settings.embedding_dim), np.nan)
    scores = np.full((n_weeks, n_sectors), np.nan)
    pair_scores = np.full((n_weeks, len(pairs_i)), np.nan)
    label_ok = np.isfinite(labels).all(axis=1)
    models: list[AnchorModel] = []
    week_idx = np.arange(n_weeks)

    with single_thread():
        torch.manual_seed(settings.seed)
        model = SectorGnn(n_features, settings.hidden_dim, settings.embedding_dim, settings.encoder, settings.dropout)
        for k, anchor in enumerate(plan.anchors):
            train = valid & (week_idx < anchor) & label_ok
            raw = node_features[train]
            mean = raw.reshape(-1, n_features).mean(axis=0)
            std = raw.reshape(-1, n_features).std(axis=0)
            std = np.where(std > 1e-12, std, 1.0)
            batch = graphs_to_batch(_standardise(raw, mean, std), adjacency[train])
            n_graphs = int(train.sum())
            targets = torch.as_tensor(standardised_ranks(labels[train]), dtype=torch.float32)
            pairs = all_pairs(n_graphs, n_sectors)
            edge_labels = torch.as_tensor((adjacency[train][:, pairs_i, pairs_j] > 0).ravel(), dtype=torch.float32)
            n_pos = float(edge_labels.sum())
            pos_weight = torch.tensor((len(edge_labels) - n_pos) / n_pos if n_pos > 0 else 1.0)
            recon_loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)

            torch.manual_seed(settings.seed + 1000 * (k + 1))
            # Refits keep the ranking head fixed so the ranking direction of the embedding space stays put.
            params = model.parameters() if (k == 0 or not settings.freeze_head_on_refit) else model.encoder.parameters()
            optimiser = torch.optim.Adam(params, lr=settings.learning_rate, weight_decay=settings.weight_decay)
            record = AnchorModel(int(anchor), n_graphs, mean, std, {})
            model.train()
            for epoch in range(settings.epochs):
                optimiser.zero_grad()
                z = model(batch)
                loss_rank = listnet_loss(model.score(z).view(n_graphs, n_sectors), targets)
                loss_recon = recon_loss_fn(model.link_logits(z, pairs), edge_labels)
                loss = settings.ranking_weight * loss_rank + settings.reconstruction_weight * loss_recon
                loss.backward()
                optimiser.step()
                record.loss_rank.append(float(loss_rank.detach()))
                record.loss_recon.append(float(loss_recon.detach()))
                if on_epoch is not None:
                    on_epoch(
                        GnnEpoch(
                            anchor=k,
                            n_anchors=len(plan.anchors),
                            epoch=epoch,
                            n_epochs=settings.epochs,
                            train_weeks=n_graphs,
                            loss_rank=record.loss_rank[-1],
                            loss_recon=record.loss_recon[-1],
                        )
                    )
            record.state_dict = {name: t.detach().clone() for name, t in model.state_dict().items()}
            models.append(record)

            owned = plan.segment == k
            if owned.any():
                model.eval()
                with torch.no_grad():
                    z = model(graphs_to_batch(_standardise(node_features[owned], mean, std), adjacency[owned]))
                    n_owned = int(owned.sum())
                    scores[owned] = model.score(z).view(n_owned, n_sectors).double().numpy()
                    pair_scores[owned] = (
                        model.link_logits(z, all_pairs(n_owned, n_sectors)).view(n_owned, -1).double().numpy()
                    )
                    embeddings[owned] = z.view(n_owned, n_sectors, -1).double().numpy()
    return WalkForwardResult(
        plan=plan,
        embeddings=embeddings,
        embedded=plan.segment >= 0,
        scores=scores,
        pair_scores=pair_scores,
        models=models,
    )
