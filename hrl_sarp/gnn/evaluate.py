"""Quality of sector embeddings: weekly rank IC, a ridge linear probe, and link-prediction AUC.

Shapes: W weeks, S sectors, P probe features, D embedding dims.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def weekly_rank_ic(predictions: np.ndarray, realised: np.ndarray) -> np.ndarray:
    """(W,) Spearman correlation across sectors per week; NaN where a week has non-finite or constant values.

    predictions, realised: (W, S).
    """
    ok = np.isfinite(predictions).all(axis=1) & np.isfinite(realised).all(axis=1)
    out = np.full(len(predictions), np.nan)
    if not ok.any():
        return out
    rp = rankdata(predictions[ok], axis=1)
    rr = rankdata(realised[ok], axis=1)
    rp -= rp.mean(axis=1, keepdims=True)
    rr -= rr.mean(axis=1, keepdims=True)
    denom = np.sqrt((rp**2).sum(axis=1) * (rr**2).sum(axis=1))
    out[ok] = np.where(denom > 0, (rp * rr).sum(axis=1) / np.where(denom > 0, denom, 1.0), np.nan)
    return out


def _demean_weeks(features: np.ndarray) -> np.ndarray:
    """Remove the cross-sectional mean of each feature in each week: (W, S, P) -> (W, S, P)."""
    return features - features.mean(axis=1, keepdims=True)


def _xs_ranks(values: np.ndarray) -> np.ndarray:
    ranks = rankdata(values, axis=1)
    ranks -= ranks.mean(axis=1, keepdims=True)
    std = ranks.std(axis=1, keepdims=True)
    return ranks / np.where(std > 0, std, 1.0)


PROBE_ALPHAS = (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)


def _ridge_fit(x: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray:
    n, p = x.shape
    return np.linalg.solve(x.T @ x / n + alpha * np.eye(p), x.T @ y / n)


def _mean_ic(pred: np.ndarray, labels: np.ndarray) -> tuple[float, float, int]:
    ic = weekly_rank_ic(pred, labels)
    ic = ic[np.isfinite(ic)]
    if not len(ic):
        return float("nan"), float("nan"), 0
    mean_ic = float(ic.mean())
    t_stat = float(mean_ic / (ic.std(ddof=1) / np.sqrt(len(ic)))) if len(ic) > 2 and ic.std() > 0 else float("nan")
    return mean_ic, t_stat, len(ic)


def ridge_probe(
    features: np.ndarray,
    labels: np.ndarray,
    fit_weeks: np.ndarray,
    eval_weeks: np.ndarray,
    alphas: tuple[float, ...] = PROBE_ALPHAS,
    n_folds: int = 5,
) -> dict[str, float]:
    """Linear probe: ridge from features to next-week cross-sectional return ranks.

    features: (W, S, P), known at each week; labels: (W, S) next-week returns; fit_weeks, eval_weeks: (W,) bool
    masks. Features are demeaned across sectors per week and standardised with the fit weeks' statistics; the
    target is the standardised cross-sectional rank. The ridge penalty (per sample) is chosen from ``alphas`` by
    blocked ``n_folds``-fold cross-validation over contiguous blocks of the fit weeks (mean rank IC of the held
    block), then the probe is refitted on all fit weeks. Eval weeks are never used to choose anything. Returns the mean weekly Spearman
    rank IC on the eval weeks (``rank_ic``), its t-statistic, the number of eval weeks and the chosen alpha.
    """
    x = _demean_weeks(np.asarray(features, dtype=np.float64))
    usable = np.isfinite(labels).all(axis=1) & np.isfinite(x).all(axis=(1, 2))
    fit, ev = fit_weeks & usable, eval_weeks & usable
    if fit.sum() < 4 or ev.sum() < 1:
        return {"rank_ic": float("nan"), "rank_ic_t": float("nan"), "weeks": int(ev.sum()), "alpha": float("nan")}
    n_features = x.shape[-1]
    fit_idx = np.flatnonzero(fit)
    x_fit = x[fit].reshape(-1, n_features)
    mean, std = x_fit.mean(axis=0), x_fit.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    z = (x - mean) / std
    z[~np.isfinite(z)] = 0.0
    y = np.zeros_like(labels)
    y[usable] = _xs_ranks(labels[usable])

    folds = np.array_split(fit_idx, n_folds)
    best_alpha, best_ic = alphas[-1], -np.inf
    for alpha in alphas:
        fold_ics = []
        for held in folds:
            rest = np.setdiff1d(fit_idx, held)
            coef = _ridge_fit(z[rest].reshape(-1, n_features), y[rest].ravel(), alpha)
            fold_ics.append(_mean_ic(z[held] @ coef, labels[held])[0])
        ic = float(np.nanmean(fold_ics)) if np.isfinite(fold_ics).any() else float("nan")
        if np.isfinite(ic) and ic > best_ic:
            best_alpha, best_ic = alpha, ic
    coef = _ridge_fit(z[fit].reshape(-1, n_features), y[fit].ravel(), best_alpha)
    mean_ic, t_stat, weeks = _mean_ic(z[ev] @ coef, labels[ev])
    return {"rank_ic": mean_ic, "rank_ic_t": t_stat, "weeks": weeks, "alpha": float(best_alpha)}


def binary_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC (Mann-Whitney with tied ranks averaged); NaN unless both classes are present."""
    labels = np.asarray(labels, dtype=bool)
    n_pos, n_neg = labels.sum(), (~labels).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def link_auc(pair_scores: np.ndarray, pair_labels: np.ndarray) -> float:
    """Mean over weeks of the link-prediction AUC.

    pair_scores, pair_labels: (W, P) decoder scores and edge indicators of every sector pair. Weeks with only
    edges or only non-edges carry no ranking information and are skipped; NaN if none remains.
    """
    aucs = [binary_auc(s, y) for s, y in zip(pair_scores, pair_labels, strict=True)]
    aucs = [a for a in aucs if np.isfinite(a)]
    return float(np.mean(aucs)) if aucs else float("nan")
