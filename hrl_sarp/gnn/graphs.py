"""Weekly sector graphs: rolling correlations, edges, node features and next-week labels (pure NumPy).

Shapes: T trading dates, S sectors, W weeks, F node features, M macro features. Everything computed for week w
uses only rows ``week_end_index[w] - window_days + 1 .. week_end_index[w]`` of the daily inputs (the trailing
window ending at the week's last session), so nothing at week w depends on later data. The one exception is
:func:`next_week_returns`, the training label, which is known only one week later.

Node features per sector at week w (documented in docs/gnn.md), computed over the trailing window:

==================  ==============================================================================
ret_5d, ret_20d,    compounded sector return over the last 5 / 20 / ``window_days`` sessions
ret_60d
xs_ret_5d, _20d,    the same returns standardised across sectors within the week (relative strength)
xs_ret_60d
vol_20d, vol_60d    annualised standard deviation of daily returns (last 20 / ``window_days`` sessions)
beta_bench          OLS beta of the sector on the benchmark over the window
corr_bench          correlation with the benchmark over the window
centrality          mean |rho| to the other sectors (graph strength / (S - 1))
degree              share of the other sectors linked by an edge (|rho| >= threshold)
==================  ==============================================================================

With macro inputs, ``macro_conditioned_features`` adds sector-specific macro terms: the macro state at t
placed in the sector's own block (one-hot(sector) ⊗ macro(t)), which lets a shared encoder learn a different
macro loading per sector.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hrl_sarp.domain import TRADING_DAYS_PER_YEAR

BASE_FEATURES = (
    "ret_5d",
    "ret_20d",
    "ret_60d",
    "xs_ret_5d",
    "xs_ret_20d",
    "xs_ret_60d",
    "vol_20d",
    "vol_60d",
    "beta_bench",
    "corr_bench",
    "centrality",
    "degree",
)
_EPS = 1e-12


@dataclass(frozen=True)
class WeeklyGraphs:
    """Inputs of the sector GNN for every week.

    ``valid[w]`` is False when week w has less than a full window of history; its arrays are zero there.
    """

    week_end_index: np.ndarray  # (W,) int64 row of the week's last session
    valid: np.ndarray  # (W,) bool, full trailing window available and finite
    corr: np.ndarray  # (W, S, S) float64 window correlation of sector returns (diagonal 1)
    adjacency: np.ndarray  # (W, S, S) float64 edge weight |rho| where |rho| >= threshold (off-diagonal), else 0
    node_features: np.ndarray  # (W, S, F) float64
    feature_names: tuple[str, ...]  # (F,)

    @property
    def n_weeks(self) -> int:
        return len(self.week_end_index)

    @property
    def n_sectors(self) -> int:
        return self.corr.shape[1]


def _windows(values: np.ndarray, ends: np.ndarray, window: int) -> np.ndarray:
    """(W, window, ...) trailing windows of ``values`` (T, ...) ending at rows ``ends`` (W,), all ``>= window-1``."""
    offsets = np.arange(-window + 1, 1)
    return values[ends[:, None] + offsets[None, :]]


def _compound(returns: np.ndarray, axis: int) -> np.ndarray:
    return np.expm1(np.log1p(np.clip(returns, -0.99, None)).sum(axis=axis))


def window_correlations(window_returns: np.ndarray) -> np.ndarray:
    """Correlation matrices of windows.

    window_returns: (W, L, S) daily returns. Returns (W, S, S); a constant series gets correlation 0 with others
    and 1 with itself.
    """
    centred = window_returns - window_returns.mean(axis=1, keepdims=True)
    cov = np.einsum("wls,wlt->wst", centred, centred)
    std = np.sqrt(np.clip(np.einsum("wss->ws", cov), 0.0, None))
    denom = std[:, :, None] * std[:, None, :]
    corr = np.where(denom > _EPS, cov / np.maximum(denom, _EPS), 0.0)
    n = corr.shape[-1]
    corr[:, np.arange(n), np.arange(n)] = 1.0
    return np.clip(corr, -1.0, 1.0)


def threshold_adjacency(corr: np.ndarray, threshold: float) -> np.ndarray:
    """(W, S, S) non-negative edge weights: |rho| where |rho| >= threshold off the diagonal, else 0."""
    weights = np.abs(corr)
    adjacency = np.where(weights >= threshold, weights, 0.0)
    n = corr.shape[-1]
    adjacency[:, np.arange(n), np.arange(n)] = 0.0
    return adjacency


def _xs_standardise(values: np.ndarray) -> np.ndarray:
    """Standardise (W, S) across sectors within each week."""
    std = values.std(axis=1, keepdims=True)
    return (values - values.mean(axis=1, keepdims=True)) / np.where(std > _EPS, std, 1.0)


def build_weekly_graphs(
    sector_returns: np.ndarray,
    benchmark_returns: np.ndarray,
    week_end_index: np.ndarray,
    window_days: int = 60,
    edge_threshold: float = 0.3,
) -> WeeklyGraphs:
    """Correlation graphs and node features for each week, from the trailing ``window_days`` sessions.

    sector_returns: (T, S) daily sector returns; benchmark_returns: (T,) daily benchmark returns;
    week_end_index: (W,) int row of each week's last session. Weeks with fewer than ``window_days`` sessions of
    history, or non-finite returns inside their window, are marked invalid (zero features, no edges).
    """
    sector_returns = np.asarray(sector_returns, dtype=np.float64)
    benchmark_returns = np.asarray(benchmark_returns, dtype=np.float64)
    ends = np.asarray(week_end_index, dtype=np.int64)
    n_weeks, n_sectors = len(ends), sector_returns.shape[1]
    short = min(20, window_days)
    week_5 = min(5, window_days)

    has_history = ends >= window_days - 1
    corr = np.zeros((n_weeks, n_sectors, n_sectors))
    adjacency = np.zeros_like(corr)
    features = np.zeros((n_weeks, n_sectors, len(BASE_FEATURES)))
    valid = has_history.copy()
    if has_history.any():
        idx = np.flatnonzero(has_history)
        win = _windows(sector_returns, ends[idx], window_days)  # (V, L, S)
        bench = _windows(benchmark_returns, ends[idx], window_days)  # (V, L)
        finite = np.isfinite(win).all(axis=(1, 2)) & np.isfinite(bench).all(axis=1)
        valid[idx[~finite]] = False
        idx, win, bench = idx[finite], win[finite], bench[finite]

        c = window_correlations(win)
        a = threshold_adjacency(c, edge_threshold)
        ret_5 = _compound(win[:, -week_5:], axis=1)
        ret_20 = _compound(win[:, -short:], axis=1)
        ret_60 = _compound(win, axis=1)
        vol_20 = win[:, -short:].std(axis=1) * np.sqrt(TRADING_DAYS_PER_YEAR)
        vol_60 = win.std(axis=1) * np.sqrt(TRADING_DAYS_PER_YEAR)
        bench_c = bench - bench.mean(axis=1, keepdims=True)
        win_c = win - win.mean(axis=1, keepdims=True)
        cov_b = np.einsum("vls,vl->vs", win_c, bench_c)
        var_b = (bench_c**2).sum(axis=1)[:, None]
        var_s = (win_c**2).sum(axis=1)
        beta = np.where(var_b > _EPS, cov_b / np.maximum(var_b, _EPS), 0.0)
        corr_b = np.where((var_b > _EPS) & (var_s > _EPS), cov_b / np.sqrt(np.maximum(var_b * var_s, _EPS)), 0.0)
        others = max(n_sectors - 1, 1)
        off_diag = np.abs(c).sum(axis=2) - 1.0
        centrality = off_diag / others
        degree = (a > 0).sum(axis=2) / others
        stacked = np.stack(
            [
                ret_5,
                ret_20,
                ret_60,
                _xs_standardise(ret_5),
                _xs_standardise(ret_20),
                _xs_standardise(ret_60),
                vol_20,
                vol_60,
                beta,
                corr_b,
                centrality,
                degree,
            ],
            axis=-1,
        )
        corr[idx], adjacency[idx], features[idx] = c, a, stacked
    return WeeklyGraphs(
        week_end_index=ends,
        valid=valid,
        corr=corr,
        adjacency=adjacency,
        node_features=features,
        feature_names=BASE_FEATURES,
    )


def macro_state(
    macro: np.ndarray,
    week_end_index: np.ndarray,
    macro_names: tuple[str, ...],
    change_days: tuple[int, ...] = (),
    include_level: bool = True,
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Macro inputs at each week's end: the level and its change over each of ``change_days`` sessions.

    macro: (T, M) macro state known at each date; week_end_index: (W,). Returns ((W, M * K) values, names), where
    K counts the level (when included) and the changes. A change that would reach before the first row, and any
    non-finite value, gets the neutral 0.
    """
    values = np.asarray(macro, dtype=np.float64)
    ends = np.asarray(week_end_index, dtype=np.int64)
    blocks, names = [], []
    if include_level:
        blocks.append(values[ends])
        names.extend(macro_names)
    for h in change_days:
        past = ends - h
        change = values[ends] - values[np.maximum(past, 0)]
        change[past < 0] = 0.0
        blocks.append(change)
        names.extend(f"{m}_chg_{h}d" for m in macro_names)
    state = np.concatenate(blocks, axis=1) if blocks else np.zeros((len(ends), 0))
    return np.nan_to_num(state, nan=0.0, posinf=0.0, neginf=0.0), tuple(names)


def macro_conditioned_features(
    state: np.ndarray, n_sectors: int, state_names: tuple[str, ...]
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Sector-specific macro terms: one-hot(sector) ⊗ macro state at each week's end.

    state: (W, K) from :func:`macro_state`. Returns ((W, S, S*K) features, names ``"<name>@s<k>"``). Block k of
    sector k's row holds the macro state; all other blocks are 0, so a shared encoder can learn a different macro
    loading per sector.
    """
    n_weeks, n_state = state.shape
    eye = np.eye(n_sectors)
    out = (eye[None, :, :, None] * state[:, None, None, :]).reshape(n_weeks, n_sectors, n_sectors * n_state)
    names = tuple(f"{m}@s{k}" for k in range(n_sectors) for m in state_names)
    return out, names


def sector_identity_features(n_weeks: int, n_sectors: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """(W, S, S) one-hot sector identity, so a shared encoder can learn a per-sector offset."""
    return np.broadcast_to(np.eye(n_sectors), (n_weeks, n_sectors, n_sectors)).copy(), tuple(
        f"sector_s{k}" for k in range(n_sectors)
    )


def next_week_returns(sector_returns: np.ndarray, week_end_index: np.ndarray) -> np.ndarray:
    """LABEL: compounded sector return from the close of week w to the close of week w+1.

    sector_returns: (T, S); week_end_index: (W,). Returns (W, S); the last week is NaN. The label of week w is
    known only at ``week_end_index[w + 1]``.
    """
    r = np.asarray(sector_returns, dtype=np.float64)
    ends = np.asarray(week_end_index, dtype=np.int64)
    log_cum = np.vstack([np.zeros((1, r.shape[1])), np.cumsum(np.log1p(np.clip(r, -0.99, None)), axis=0)])
    out = np.full((len(ends), r.shape[1]), np.nan)
    if len(ends) > 1:
        out[:-1] = np.expm1(log_cum[ends[1:] + 1] - log_cum[ends[:-1] + 1])
    return out


def trailing_returns(sector_returns: np.ndarray, week_end_index: np.ndarray, horizons: tuple[int, ...]) -> np.ndarray:
    """(W, S, H) compounded trailing sector returns over each horizon (sessions) ending at the week's end.

    Rows without enough history use what is available (from the first row). Used by the raw-return probe.
    """
    r = np.asarray(sector_returns, dtype=np.float64)
    ends = np.asarray(week_end_index, dtype=np.int64)
    log_cum = np.vstack([np.zeros((1, r.shape[1])), np.cumsum(np.log1p(np.clip(r, -0.99, None)), axis=0)])
    out = []
    for h in horizons:
        start = np.maximum(ends + 1 - h, 0)
        out.append(np.expm1(log_cum[ends + 1] - log_cum[start]))
    return np.stack(out, axis=-1)
