"""Phase 1 (macro) and Phase 2 (micro) supervised pretraining on a :class:`FeatureArrays` build.

Phase 1 trains :class:`MacroFeaturesExtractor` on daily decision dates (or week ends): regime cross-entropy
against next week's realised regime (each class weighted by its inverse training frequency when
``pretrain.regime_class_balance``, so the head cannot score by calling the majority regime every week) plus a KL
allocation loss against ``softmax(standardised next-week sector returns / temperature)``.
Phase 2 trains :class:`MicroFeaturesExtractor` on daily samples with sampled sector goals (Dirichlet, seeded): the
target stock allocation is ``goal[sector(i)] * softmax_within_sector(standardised forward return_i / temperature)``.
Both map actions to weights as the environments do: ``masked softmax(env.logit_scale * action)``.

Train and validation are time splits from ``cfg.splits`` (fractions of the dates, an embargo between them); a sample
belongs to a split only if its label window ends inside it. Early stopping keeps the epoch with the lowest
validation loss. Same seed, same data, same config -> same weights and metrics.

Shapes: T dates, N stock slots, S sectors, D embedding dims, M macro features, F stock features, K samples.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from hrl_sarp.backtest.metrics import balanced_accuracy, macro_f1
from hrl_sarp.config import Config, SplitConfig
from hrl_sarp.domain import N_REGIMES
from hrl_sarp.errors import InputError
from hrl_sarp.features.arrays import FeatureArrays
from hrl_sarp.policies.layout import MacroObsLayout, MicroObsLayout
from hrl_sarp.policies.macro import MacroFeaturesExtractor
from hrl_sarp.policies.macro import observation_space as macro_observation_space
from hrl_sarp.policies.micro import MicroFeaturesExtractor
from hrl_sarp.policies.micro import observation_space as micro_observation_space
from hrl_sarp.threads import single_thread

EpochCallback = Callable[[int, dict[str, float]], None]
_EPS = 1e-8


@dataclass(frozen=True)
class TimeSplit:
    """Row ranges: train ``[0, train_end)``, validation ``[val_start, val_end)``."""

    train_end: int
    val_start: int
    val_end: int


def time_split(n_dates: int, splits: SplitConfig) -> TimeSplit:
    train_end = int(n_dates * splits.train_fraction)
    val_end = int(n_dates * (splits.train_fraction + splits.val_fraction))
    return TimeSplit(train_end, min(train_end + splits.embargo_days, val_end), val_end)


@dataclass
class PretrainResult:
    kind: str  # "macro" | "micro"
    network: nn.Module  # the best-epoch network, eval mode
    kwargs: dict[str, Any]  # extractor constructor kwargs (for checkpoints and SB3 policy_kwargs)
    history: dict[str, list[float]] = field(default_factory=dict)  # metric -> per-epoch values
    summary: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------------------------
# shared pieces


def masked_log_softmax(logits: torch.Tensor, mask: torch.Tensor, scale: float) -> torch.Tensor:
    """``log softmax(scale * logits)`` over entries where ``mask`` (B, K) is true; masked entries get ``-inf``."""
    scaled = (scale * logits).masked_fill(~mask, float("-inf"))
    return torch.log_softmax(scaled, dim=-1)


def masked_softmax_np(logits: np.ndarray, mask: np.ndarray, scale: float) -> np.ndarray:
    """NumPy ``softmax(scale * logits)`` over ``mask`` (K, N); zero elsewhere."""
    z = np.where(mask, scale * logits, -np.inf)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.where(mask, np.exp(z), 0.0)
    return e / e.sum(axis=-1, keepdims=True)


def allocation_targets(returns: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(z / temperature)`` per row of ``returns (K, S)``, z the row-standardised returns."""
    z = (returns - returns.mean(axis=1, keepdims=True)) / (returns.std(axis=1, keepdims=True) + _EPS)
    e = np.exp((z - z.max(axis=1, keepdims=True)) / temperature)
    return e / e.sum(axis=1, keepdims=True)


def standardised_returns(returns: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-standardised returns ``z`` of ``returns (K, S)`` (``temperature`` unused: the signature of
    :func:`allocation_targets`)."""
    return (returns - returns.mean(axis=1, keepdims=True)) / (returns.std(axis=1, keepdims=True) + _EPS)


def _ranks(values: np.ndarray) -> np.ndarray:
    return np.argsort(np.argsort(values, axis=-1, kind="stable"), axis=-1, kind="stable").astype(float)


def rank_ic(predictions: np.ndarray, realised: np.ndarray) -> np.ndarray:
    """Spearman correlation per row of ``(K, S)`` arrays (ties broken by position); NaN for constant rows."""
    a, b = _ranks(predictions), _ranks(realised)
    a -= a.mean(axis=1, keepdims=True)
    b -= b.mean(axis=1, keepdims=True)
    den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    out = np.full(len(a), np.nan)
    np.divide((a * b).sum(axis=1), den, out=out, where=den > 0)
    constant = (predictions.max(axis=1) - predictions.min(axis=1)) <= 0
    out[constant] = np.nan
    return out


def nonoverlapping_tstat(values: np.ndarray, rows: np.ndarray, step: int) -> float:
    """t-statistic of the mean of per-sample ``values (K,)`` dated by ``rows (K,)``, on one date every ``step`` rows.

    Labels of samples closer than their horizon overlap and are correlated; averaging per date and keeping dates
    ``step`` rows apart leaves (roughly) independent observations. 0 when fewer than two remain.
    """
    ok = np.isfinite(values)
    uniq, inv = np.unique(rows[ok], return_inverse=True)
    if len(uniq) == 0:
        return 0.0
    per_row = np.bincount(inv, weights=values[ok]) / np.bincount(inv)
    x = per_row[(uniq - uniq[0]) % step == 0]
    if len(x) < 2 or x.std(ddof=1) == 0:
        return 0.0
    return float(x.mean() / (x.std(ddof=1) / np.sqrt(len(x))))


def _standardise_stats(x: np.ndarray, axis: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    mean = np.nanmean(x, axis=axis)
    std = np.nanstd(x, axis=axis)
    return np.nan_to_num(mean), np.where(np.isfinite(std) & (std > 0), std, 1.0)


def _batches(n: int, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    order = rng.permutation(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


class _EarlyStopping:
    def __init__(self, patience: int) -> None:
        self.patience, self.best, self.best_epoch, self.state, self.bad = patience, np.inf, -1, None, 0

    def update(self, epoch: int, loss: float, network: nn.Module) -> bool:
        """Record the epoch; returns True when training should stop."""
        if loss < self.best - 1e-9:
            self.best, self.best_epoch, self.bad = loss, epoch, 0
            self.state = copy.deepcopy(network.state_dict())
            return False
        self.bad += 1
        return self.bad >= self.patience


def _fit(
    net: nn.Module,
    optimizer: torch.optim.Optimizer,
    n_train: int,
    batch_loss: Callable[[np.ndarray], torch.Tensor],
    evaluate: Callable[[], dict[str, float]],
    epochs: int,
    patience: int,
    batch_size: int,
    rng: np.random.Generator,
    on_epoch: EpochCallback | None,
    select: str = "val_loss",
) -> tuple[dict[str, list[float]], dict[str, float], int]:
    """Minibatch epochs over ``n_train`` samples with early stopping on ``evaluate()[select]`` (lower is better for
    a ``*loss`` metric, higher for any other).

    ``batch_loss(idx)`` is the training loss of the samples ``idx``; ``evaluate()`` returns the epoch's validation
    metrics (with ``val_loss``) and runs with the network in eval mode. Restores the best epoch's weights and returns
    (per-epoch history, the best epoch's metrics, the best epoch's index).
    """
    history: dict[str, list[float]] = {}
    stopper = _EarlyStopping(patience)
    with single_thread():
        for epoch in range(epochs):
            net.train()
            total, count = 0.0, 0
            for idx in _batches(n_train, batch_size, rng):
                loss = batch_loss(idx)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item() * len(idx)
                count += len(idx)
            net.eval()
            metrics = {"train_loss": total / count, **evaluate()}
            for key, value in metrics.items():
                history.setdefault(key, []).append(value)
            if on_epoch is not None:
                on_epoch(epoch, metrics)
            score = metrics[select] if select.endswith("loss") else -metrics[select]
            if stopper.update(epoch, score, net):
                break
    net.load_state_dict(stopper.state)
    net.eval()
    return history, {k: v[stopper.best_epoch] for k, v in history.items()}, stopper.best_epoch


# ---------------------------------------------------------------------------------------------------------------
# Phase 1: macro


@dataclass(frozen=True)
class MacroExamples:
    """Samples that have an embedding and a complete following week."""

    rows: np.ndarray  # (K,) row index of the decision date t
    next_rows: np.ndarray  # (K,) row index t' closing the following week (last session <= dates[t] + 7 days)
    macro: np.ndarray  # (K, M) macro state at t
    embeddings: np.ndarray  # (K, S, D) latest sector embedding dated at or before t
    next_returns: np.ndarray  # (K, S) LABEL: compounded sector return over rows (t, t']
    next_regime: np.ndarray  # (K,) LABEL: realised regime of the week ending at t'


def macro_examples(
    arrays: FeatureArrays, week_dates: np.ndarray, embeddings: np.ndarray, daily: bool = True
) -> MacroExamples:
    """Pair each decision date with the latest weekly embedding ``(W_e, S, D)`` dated ``week_dates (W_e,)``.

    ``daily``: every trading date is a decision date (a week-long label window starting at each session, which
    multiplies the samples by about five); otherwise only week ends. Dates before the first embedding (the GNN's
    walk-forward warm-up) and dates whose following week is incomplete are skipped.
    """
    if embeddings.ndim != 3 or embeddings.shape[1] != arrays.n_sectors:
        raise InputError(f"embeddings have shape {embeddings.shape}, expected (weeks, {arrays.n_sectors}, D)")
    week_dates = np.asarray(week_dates).astype("datetime64[D]")
    finite = np.isfinite(embeddings).all(axis=(1, 2))
    order = np.argsort(week_dates[finite], kind="stable")
    week_dates, embeddings = week_dates[finite][order], embeddings[finite][order]
    dates = arrays.dates.astype("datetime64[D]")
    rows = np.arange(arrays.n_dates) if daily else np.asarray(arrays.week_end_index, dtype=np.int64)
    emb_index = np.searchsorted(week_dates, dates[rows], side="right") - 1
    horizon_end = dates[rows] + np.timedelta64(7, "D")
    next_rows = np.searchsorted(dates, horizon_end, side="right") - 1
    keep = (emb_index >= 0) & (next_rows > rows) & (horizon_end <= dates[-1])
    if not keep.any():
        raise InputError("no date has both a sector embedding and a complete following week: run `hrl-sarp fit-gnn`")
    rows, next_rows, emb_index = rows[keep], next_rows[keep], emb_index[keep]
    log_cum = np.vstack([np.zeros((1, arrays.n_sectors)), np.cumsum(np.log1p(arrays.sector_returns), axis=0)])
    return MacroExamples(
        rows=rows,
        next_rows=next_rows,
        macro=arrays.macro[rows],
        embeddings=embeddings[emb_index],
        next_returns=np.expm1(log_cum[next_rows + 1] - log_cum[rows + 1]),
        next_regime=np.asarray(arrays.regime_labels)[next_rows].astype(np.int64),
    )


def linear_start(
    x_macro: np.ndarray, blocks: np.ndarray, targets: np.ndarray, penalty: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The closed-form start of the macro network's linear paths: one ridge regression of the sector targets
    ``(K, S)`` on per-sector loadings of the standardised macro state ``x_macro (K, M)`` and one set of loadings of
    each sector's standardised block ``blocks (K, S, D)`` shared across sectors (unpenalised sector intercepts).

    Solved on the K*S stacked (sample, sector) rows. Returns ``(B (S, M), intercepts (S,), g (D,))``: the fitted
    score of sector s is ``x_macro @ B[s] + intercepts[s] + blocks[:, s] @ g``.
    """
    K, S = targets.shape
    M, D = x_macro.shape[1], blocks.shape[2]
    # normal equations by blocks, without materialising the (K*S, S*M) Kronecker design
    xtx = x_macro.T @ x_macro  # (M, M), the same for every sector
    n = S * M + S + D
    gram = np.zeros((n, n))
    rhs = np.zeros(n)
    sx = x_macro.sum(axis=0)  # (M,)
    for sec in range(S):
        rows = slice(sec * M, (sec + 1) * M)
        e_s = blocks[:, sec, :]  # (K, D)
        gram[rows, rows] = xtx
        gram[rows, S * M + sec] = gram[S * M + sec, rows] = sx
        cross = x_macro.T @ e_s  # (M, D)
        gram[rows, S * M + S :] = cross
        gram[S * M + S :, rows] = cross.T
        gram[S * M + sec, S * M + sec] = K
        gram[S * M + sec, S * M + S :] = gram[S * M + S :, S * M + sec] = e_s.sum(axis=0)
        gram[S * M + S :, S * M + S :] += e_s.T @ e_s
        rhs[rows] = x_macro.T @ targets[:, sec]
        rhs[S * M + sec] = targets[:, sec].sum()
        rhs[S * M + S :] += e_s.T @ targets[:, sec]
    reg = np.full(n, penalty)
    reg[S * M : S * M + S] = 0.0
    coef = np.linalg.solve(gram + np.diag(reg) + 1e-9 * np.eye(n), rhs)
    return coef[: S * M].reshape(S, M), coef[S * M : S * M + S], coef[S * M + S :]


def _start_linear_paths(net: MacroFeaturesExtractor, obs: torch.Tensor, targets: np.ndarray, p: Any) -> None:
    """Set the network's linear sector paths (per-sector macro loadings, the shared read of each sector's block) to
    the :func:`linear_start` ridge fit of ``targets (K, S)`` on the training observations ``obs (K, size)``, as the
    network standardises them, scaled so the fitted scores have std ``p.macro_linear_std``; they are held through the
    gradient epochs and the MLP's sector output starts from zero."""
    with torch.no_grad():
        macro_state, blocks, _ = net.layout.split(obs)
        x = ((macro_state - net.macro_mean) / net.macro_std).double().numpy()
        e = ((blocks - net.embedding_mean) / net.embedding_std).double().numpy()
    loadings, intercepts, shared = linear_start(x, e, targets, p.macro_linear_penalty)
    fitted = x @ loadings.T + intercepts + e @ shared
    spread = float(fitted.std())
    scale = p.macro_linear_std / spread if spread > 1e-12 else 0.0
    with torch.no_grad():
        net.sector_linear.weight.copy_(torch.as_tensor(scale * loadings, dtype=torch.float32))
        net.sector_linear.bias.copy_(torch.as_tensor(scale * intercepts, dtype=torch.float32))
        if net.sector_state_linear is not None:
            net.sector_state_linear.weight.copy_(torch.as_tensor(scale * shared[None, :], dtype=torch.float32))
            net.sector_state_linear.bias.zero_()
        # the linear paths are the solved part: held through the gradient epochs; the MLP's sector output starts
        # at zero, so it adds only what the allocation loss (if weighted) teaches it
        net.sector_score.weight.zero_()
        net.sector_score.bias.zero_()
        for layer in (net.sector_linear, net.sector_state_linear):
            if layer is not None:
                layer.requires_grad_(False)


def _macro_obs(layout: MacroObsLayout, ex: MacroExamples, idx: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return layout.build(ex.macro[idx], np.zeros(len(idx)), ex.embeddings[idx], weights)


def pretrain_macro(
    arrays: FeatureArrays,
    week_dates: np.ndarray,
    embeddings: np.ndarray,
    cfg: Config,
    on_epoch: EpochCallback | None = None,
) -> PretrainResult:
    """Phase 1. ``week_dates (W_e,)`` and ``embeddings (W_e, S, D)`` come from the sector GNN.

    Per-epoch metrics (``on_epoch(epoch, metrics)``): train_loss, val_loss, val_regime_loss, val_allocation_kl,
    val_regime_accuracy, val_rank_ic. The summary adds majority_baseline_accuracy, the best epoch and sample counts.
    """
    p = cfg.pretrain
    ex = macro_examples(arrays, week_dates, embeddings, daily=p.macro_daily_samples)
    split = time_split(arrays.n_dates, cfg.splits)
    train = np.flatnonzero(ex.next_rows < split.train_end)
    val = np.flatnonzero((ex.rows >= split.val_start) & (ex.next_rows < split.val_end))
    if len(train) < 2 or len(val) < 1:
        raise InputError(
            f"Phase 1 needs embedded weeks in both splits (train {len(train)}, validation {len(val)}): "
            "use a longer date range or a smaller gnn warm-up"
        )
    S, D = arrays.n_sectors, embeddings.shape[2]
    layout = MacroObsLayout(arrays.macro.shape[1], S, D)
    scale = cfg.env.logit_scale
    rng = np.random.default_rng(cfg.seed)
    # Current weights are an input the labels do not depend on: random simplex points in training teach the
    # network to read any allocation; validation uses equal weights.
    train_weights = rng.dirichlet(np.ones(S), size=len(train))
    val_weights = np.full((len(val), S), 1.0 / S)
    obs_train = torch.as_tensor(_macro_obs(layout, ex, train, train_weights))
    obs_val = torch.as_tensor(_macro_obs(layout, ex, val, val_weights))
    targets = allocation_targets if p.allocation_loss == "kl" else standardised_returns
    q_train = torch.as_tensor(targets(ex.next_returns[train], p.macro_temperature), dtype=torch.float32)
    q_val = torch.as_tensor(targets(ex.next_returns[val], p.macro_temperature), dtype=torch.float32)
    y_train = torch.as_tensor(ex.next_regime[train])
    y_val = torch.as_tensor(ex.next_regime[val])

    kwargs = dict(n_macro=layout.n_macro, n_sectors=S, embedding_dim=D, hidden_dim=p.hidden_dim,
                  sector_id_dim=p.sector_id_dim, dropout=p.dropout)  # fmt: skip
    torch.manual_seed(cfg.seed)
    net = MacroFeaturesExtractor(macro_observation_space(layout), **kwargs)
    macro_state = np.concatenate([ex.macro[train], np.zeros((len(train), 1))], axis=1)
    net.set_normalization(
        *_standardise_stats(macro_state, (0,)),
        *_standardise_stats(ex.embeddings[train].reshape(len(train) * S, D), (0,)),
    )
    if p.macro_linear_start == "ridge":
        _start_linear_paths(net, obs_train, standardised_returns(ex.next_returns[train]), p)
    trainable = [param for param in net.parameters() if param.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=p.macro_learning_rate, weight_decay=p.weight_decay)
    all_sectors = torch.ones(1, S, dtype=torch.bool)
    counts = np.bincount(ex.next_regime[train], minlength=N_REGIMES)
    class_weight = None
    if p.regime_class_balance:  # inverse frequency, normalised so a balanced sample has weights 1
        present = counts > 0
        inverse = np.where(present, counts.sum() / (present.sum() * np.maximum(counts, 1)), 0.0)
        class_weight = torch.as_tensor(inverse, dtype=torch.float32)

    def losses(obs: torch.Tensor, q: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        action = net.act(obs)
        if p.allocation_loss == "kl":
            log_p = masked_log_softmax(action[:, :S], all_sectors.expand(len(obs), S), scale)
            alloc = (q * (torch.log(q.clamp_min(1e-12)) - log_p)).sum(-1).mean()
        else:  # minus the standardised excess return of the tilt rule's direction (scale-free, as deployed)
            z = action[:, :S] - action[:, :S].mean(-1, keepdim=True)
            alloc = -(2.0 * z / (z.abs().sum(-1, keepdim=True) + 1e-6) * q).sum(-1).mean()
        ce = nn.functional.cross_entropy(scale * action[:, S:], y, weight=class_weight)
        return ce + p.allocation_weight * alloc, ce, alloc

    history, best, best_epoch = _fit(
        net,
        optimizer,
        len(train),
        lambda idx: losses(obs_train[idx], q_train[idx], y_train[idx])[0],
        lambda: _macro_eval(net, losses, obs_val, q_val, y_val, ex, val, S),
        p.macro_epochs,
        p.patience,
        p.batch_size,
        rng,
        on_epoch,
        p.macro_select,
    )
    majority = int(np.argmax(counts))
    with torch.no_grad():
        train_pred = net.act(obs_train)[:, S:].argmax(-1).numpy()
        val_action = net.act(obs_val).numpy()
    val_ic = rank_ic(val_action[:, :S], ex.next_returns[val])
    summary = {
        "val_regime_accuracy": best["val_regime_accuracy"],
        "majority_baseline_accuracy": float(np.mean(ex.next_regime[val] == majority)),
        "val_regime_balanced_accuracy": best["val_regime_balanced_accuracy"],
        "val_regime_macro_f1": best["val_regime_macro_f1"],
        "majority_baseline_macro_f1": macro_f1(np.full(len(val), majority), ex.next_regime[val], N_REGIMES),
        "majority_class": majority,
        "val_rank_ic": best["val_rank_ic"],
        "val_rank_ic_tstat": nonoverlapping_tstat(val_ic, ex.rows[val], 5),
        "val_loss": best["val_loss"],
        "train_regime_accuracy": float(np.mean(train_pred == ex.next_regime[train])),
        "best_epoch": best_epoch + 1,
        "epochs_run": len(history["train_loss"]),
        "n_train_samples": len(train),
        "n_val_samples": len(val),
    }
    return PretrainResult("macro", net, kwargs, history, summary)


def _macro_eval(net, losses, obs_val, q_val, y_val, ex: MacroExamples, val: np.ndarray, S: int) -> dict[str, float]:
    net.eval()
    with torch.no_grad():
        loss, ce, kl = losses(obs_val, q_val, y_val)
        action = net.act(obs_val).numpy()
    ic = rank_ic(action[:, :S], ex.next_returns[val])
    return {
        "val_loss": float(loss),
        "val_regime_loss": float(ce),
        "val_allocation_kl": float(kl),
        "val_regime_accuracy": float(np.mean(action[:, S:].argmax(-1) == ex.next_regime[val])),
        "val_regime_balanced_accuracy": balanced_accuracy(action[:, S:].argmax(-1), ex.next_regime[val], N_REGIMES),
        "val_regime_macro_f1": macro_f1(action[:, S:].argmax(-1), ex.next_regime[val], N_REGIMES),
        "val_rank_ic": float(np.nanmean(ic)) if np.isfinite(ic).any() else 0.0,
    }


# ---------------------------------------------------------------------------------------------------------------
# Phase 2: micro


@dataclass(frozen=True)
class MicroUniverse:
    """The build's stocks padded to ``env.max_stocks`` slots (at least the number of stocks)."""

    stock_features: np.ndarray  # (T, N, F) float32, zero in padded slots
    tradable: np.ndarray  # (T, N) bool
    forward_returns: np.ndarray  # (T, N) LABEL, NaN where unknown or padded
    stock_sector: np.ndarray  # (N,) int64, -1 in padded slots
    onehot: np.ndarray  # (N, S)


def micro_universe(arrays: FeatureArrays, n_slots: int = 0) -> MicroUniverse:
    n = arrays.n_stocks
    slots = max(n_slots, n)  # as MicroEnv: env.max_stocks pads, never truncates
    pad = slots - n
    T, _, F = arrays.stock_features.shape
    features = np.zeros((T, slots, F), dtype=np.float32)
    features[:, :n] = np.nan_to_num(arrays.stock_features)
    tradable = np.zeros((T, slots), dtype=bool)
    tradable[:, :n] = arrays.tradable
    forward = np.full((T, slots), np.nan)
    forward[:, :n] = arrays.forward_returns
    sector = np.concatenate([np.asarray(arrays.stock_sector, dtype=np.int64), -np.ones(pad, dtype=np.int64)])
    onehot = np.zeros((slots, arrays.n_sectors))
    onehot[np.arange(n), sector[:n]] = 1.0
    return MicroUniverse(features, tradable, forward, sector, onehot)


def within_sector_shares(forward: np.ndarray, valid: np.ndarray, onehot: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(z / temperature)`` inside each sector over ``valid`` stocks; z standardised within the sector.

    ``forward, valid (K, N)``, ``onehot (N, S)`` -> ``(K, N)`` shares summing to 1 per sector with a valid stock.
    """
    v = valid.astype(float)
    r = np.where(valid, forward, 0.0)
    count = v @ onehot  # (K, S)
    mean = (r @ onehot) / np.maximum(count, 1.0)
    var = ((r - mean @ onehot.T) ** 2 * v) @ onehot / np.maximum(count, 1.0)
    z = (r - mean @ onehot.T) / (np.sqrt(var) @ onehot.T + _EPS)
    e = np.exp(np.clip(z / temperature, -30, 30)) * v
    denom = (e @ onehot) @ onehot.T
    return np.divide(e, denom, out=np.zeros_like(e), where=denom > 0)


def within_sector_ic(scores: np.ndarray, forward: np.ndarray, valid: np.ndarray, onehot: np.ndarray) -> np.ndarray:
    """Per row, the correlation of sector-demeaned ``scores`` with sector-demeaned ``forward`` returns over
    ``valid`` stocks: stock-picking skill with sector bets removed. ``(K, N)`` arrays, ``onehot (N, S)`` -> ``(K,)``.
    """

    def demean(values: np.ndarray) -> np.ndarray:
        v = np.where(valid, values, 0.0)
        count = valid.astype(float) @ onehot
        mean = (v @ onehot) / np.maximum(count, 1.0)
        return np.where(valid, v - mean @ onehot.T, 0.0)

    a, b = demean(scores), demean(np.nan_to_num(forward))
    den = np.sqrt((a * a).sum(1) * (b * b).sum(1))
    out = np.full(len(a), np.nan)
    np.divide((a * b).sum(1), den, out=out, where=den > 0)
    return out


@dataclass(frozen=True)
class MicroSamples:
    rows: np.ndarray  # (K,) date row
    goals: np.ndarray  # (K, S) sampled sector goal (zero on sectors without a valid stock), sums to 1
    weights: np.ndarray  # (K, N) current stock weights fed as input
    regime: np.ndarray  # (K,) regime of the goal fed as input (sampled uniformly; the target ignores it)
    valid: np.ndarray  # (K, N) tradable with a known forward return
    target: np.ndarray  # (K, N) LABEL: goal-weighted within-sector allocation


def micro_samples(
    uni: MicroUniverse, rows: np.ndarray, goals_per_date: int, concentration: float, temperature: float,
    rng: np.random.Generator, equal_weight_inputs: bool,
) -> MicroSamples:  # fmt: skip
    """``goals_per_date`` Dirichlet goals per date row; input weights random (training) or goal equal-weight."""
    rows = np.repeat(rows, goals_per_date)
    valid = uni.tradable[rows] & np.isfinite(uni.forward_returns[rows])
    has_sector = (valid.astype(float) @ uni.onehot) > 0  # (K, S)
    goals = rng.dirichlet(np.full(uni.onehot.shape[1], concentration), size=len(rows)) * has_sector
    goals /= goals.sum(axis=1, keepdims=True)
    shares = within_sector_shares(uni.forward_returns[rows], valid, uni.onehot, temperature)
    target = shares * (goals @ uni.onehot.T)
    if equal_weight_inputs:
        weights = equal_weight_in_goal(goals, valid, uni.onehot)
    else:
        weights = rng.dirichlet(np.ones(uni.onehot.shape[0]), size=len(rows)) * valid
        weights /= np.maximum(weights.sum(axis=1, keepdims=True), _EPS)
    regime = rng.integers(N_REGIMES, size=len(rows))
    return MicroSamples(rows, goals, weights, regime, valid, target)


def equal_weight_in_goal(goals: np.ndarray, valid: np.ndarray, onehot: np.ndarray) -> np.ndarray:
    """Goal sector weight split equally over the sector's valid stocks: ``(K, S), (K, N), (N, S) -> (K, N)``."""
    count = valid.astype(float) @ onehot
    per_stock = np.divide(goals, count, out=np.zeros_like(goals), where=count > 0)
    return (per_stock @ onehot.T) * valid


def goal_matched(alloc: np.ndarray, goals: np.ndarray, onehot: np.ndarray) -> np.ndarray:
    """Rescale ``alloc (K, N)`` so each sector holds its goal weight ``goals (K, S)``: the stock picks only."""
    sector_alloc = alloc @ onehot
    rescale = np.divide(goals, sector_alloc, out=np.zeros_like(goals), where=sector_alloc > 0)
    return alloc * (rescale @ onehot.T)


def _micro_obs(
    layout: MicroObsLayout, uni: MicroUniverse, arrays: FeatureArrays, s: MicroSamples, idx: np.ndarray
) -> dict[str, torch.Tensor]:
    rows = s.rows[idx]
    regime = np.eye(N_REGIMES, dtype=np.float32)[s.regime[idx]]
    observation = layout.build(uni.stock_features[rows], s.weights[idx], arrays.macro[rows], np.zeros(len(idx)), regime)
    return {
        "observation": torch.as_tensor(observation),
        "achieved_goal": torch.as_tensor((s.weights[idx] @ uni.onehot).astype(np.float32)),
        "desired_goal": torch.as_tensor(s.goals[idx].astype(np.float32)),
    }


def pretrain_micro(arrays: FeatureArrays, cfg: Config, on_epoch: EpochCallback | None = None) -> PretrainResult:
    """Phase 2. Per-epoch metrics: train_loss, val_loss, val_return_pretrained (raw allocation),
    val_return_goal_matched (allocation rescaled so each sector holds its goal weight), val_return_equal_weight
    (goal weight split equally inside each sector), val_excess_return (goal-matched minus equal weight),
    val_goal_cosine (cosine of the allocation's sector weights with the goal), val_within_sector_ic (stock-picking
    correlation with sector effects removed, :func:`within_sector_ic`). Returns are simple next-period
    (``features.forward_horizon_days``) returns averaged over validation samples.
    """
    p = cfg.pretrain
    uni = micro_universe(arrays, cfg.env.max_stocks)
    split = time_split(arrays.n_dates, cfg.splits)
    h = cfg.features.forward_horizon_days
    dates = np.arange(arrays.n_dates)
    train_rows = dates[dates + h < split.train_end]
    val_rows = dates[(dates >= split.val_start) & (dates + h < split.val_end)]
    usable = (uni.tradable & np.isfinite(uni.forward_returns)).any(axis=1)
    train_rows, val_rows = train_rows[usable[train_rows]], val_rows[usable[val_rows]]
    if len(train_rows) < 2 or len(val_rows) < 1:
        raise InputError(f"Phase 2 needs dates in both splits (train {len(train_rows)}, validation {len(val_rows)})")
    rng = np.random.default_rng(cfg.seed)
    train = micro_samples(uni, train_rows, p.goals_per_date, p.goal_concentration, p.micro_temperature, rng, False)
    val = micro_samples(uni, val_rows, p.goals_per_date, p.goal_concentration, p.micro_temperature, rng, True)

    N, F = uni.stock_features.shape[1:]
    S = arrays.n_sectors
    layout = MicroObsLayout(N, F, arrays.macro.shape[1], S)
    scale = cfg.env.logit_scale
    kwargs = dict(n_stocks=N, n_features=F, n_macro=layout.n_macro, n_sectors=S,
                  stock_sector=[int(x) for x in uni.stock_sector], hidden_dim=p.hidden_dim,
                  dropout=p.dropout)  # fmt: skip
    torch.manual_seed(cfg.seed)
    net = MicroFeaturesExtractor(micro_observation_space(layout), **kwargs)
    train_dates = np.unique(train.rows)
    feats = uni.stock_features[train_dates][uni.tradable[train_dates]]  # (tradable cells, F)
    macro_state = np.concatenate([arrays.macro[train_dates], np.zeros((len(train_dates), 1))], axis=1)
    net.set_normalization(*_standardise_stats(feats, (0,)), *_standardise_stats(macro_state, (0,)))
    optimizer = torch.optim.Adam(net.parameters(), lr=p.micro_learning_rate, weight_decay=p.weight_decay)

    def loss_of(s: MicroSamples, idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        action = net.act(_micro_obs(layout, uni, arrays, s, idx))
        log_p = masked_log_softmax(action, torch.as_tensor(s.valid[idx]), scale)
        target = torch.as_tensor(s.target[idx], dtype=torch.float32)
        return -(target * log_p.masked_fill(target == 0, 0.0)).sum(-1).mean(), action

    val_idx = np.arange(len(val.rows))
    fwd_val = np.nan_to_num(uni.forward_returns[val.rows])
    ew_weights = equal_weight_in_goal(val.goals, val.valid, uni.onehot)
    ew_return = float(np.mean((ew_weights * fwd_val).sum(1)))
    oracle_return = float(np.mean((val.target * fwd_val).sum(1)))

    def evaluate() -> dict[str, float]:
        with torch.no_grad():
            val_loss, action = loss_of(val, val_idx)
        alloc = masked_softmax_np(action.numpy().astype(float), val.valid, scale)
        sector_alloc = alloc @ uni.onehot
        matched = goal_matched(alloc, val.goals, uni.onehot)
        cosine = (sector_alloc * val.goals).sum(1) / (
            np.linalg.norm(sector_alloc, axis=1) * np.linalg.norm(val.goals, axis=1) + _EPS
        )
        return {
            "val_loss": float(val_loss),
            "val_return_pretrained": float(np.mean((alloc * fwd_val).sum(1))),
            "val_return_goal_matched": float(np.mean((matched * fwd_val).sum(1))),
            "val_return_equal_weight": ew_return,
            "val_excess_return": float(np.mean((matched * fwd_val).sum(1))) - ew_return,
            "val_goal_cosine": float(np.mean(cosine)),
            "val_within_sector_ic": float(np.nanmean(within_sector_ic(action.numpy(), fwd_val, val.valid, uni.onehot))),
        }

    history, best, best_epoch = _fit(
        net,
        optimizer,
        len(train.rows),
        lambda idx: loss_of(train, idx)[0],
        evaluate,
        p.micro_epochs,
        p.patience,
        p.batch_size,
        rng,
        on_epoch,
    )
    with torch.no_grad():
        _, action = loss_of(val, val_idx)
    alloc = masked_softmax_np(action.numpy().astype(float), val.valid, scale)
    best_excess = (goal_matched(alloc, val.goals, uni.onehot) * fwd_val).sum(1) - (ew_weights * fwd_val).sum(1)
    summary = {
        **{k: best[k] for k in best if k.startswith("val_")},
        "val_return_oracle_target": oracle_return,
        "val_excess_tstat": nonoverlapping_tstat(best_excess, val.rows, h),
        "best_epoch": best_epoch + 1,
        "epochs_run": len(history["train_loss"]),
        "n_train_samples": len(train.rows),
        "n_val_samples": len(val.rows),
    }
    return PretrainResult("micro", net, kwargs, history, summary)
