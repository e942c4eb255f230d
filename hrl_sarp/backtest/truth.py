"""Skill against the synthetic market's ground truth: how much of the planted sector drift a strategy's tilts capture.

On synthetic data the generator knows what a perfect macro agent would do: the planted sector drift of week w is a
function of macro data published by the close of week w-1 (:class:`~hrl_sarp.data.synthetic.GroundTruth`). A
decision at a week-end row t therefore faces ``truth.sector_drift_weekly[w(t) + 1]``. Per decision week:

- ``drift_corr``: the correlation over sectors between the tilt (invested sector weights, normalised to sum 1, minus
  equal sector weights) and that drift; the per-week figures are averaged over the weeks where both vary;
- ``active_share``: half the L1 distance of the normalised sector weights from equal sector weights.

Weeks fully in cash have no allocation and are left out of both (the exposure and cash-share metrics count them).
These are sharper instruments than a Sharpe over about 100 test weeks: a tilt with corr 0.4 earns a few bps a week,
well inside a Sharpe's noise (docs/rl.md).

Shapes: K decision weeks, S sectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hrl_sarp.config import Config
from hrl_sarp.errors import HrlSarpError
from hrl_sarp.features.arrays import FeatureArrays

TRUTH_METRICS: tuple[str, ...] = ("drift_corr", "active_share")


@dataclass(frozen=True)
class PlantedDrift:
    """The generator's calendar and planted weekly sector drift (see :class:`~hrl_sarp.data.synthetic.GroundTruth`)."""

    dates: np.ndarray  # (T,) datetime64[D]
    week_end_index: np.ndarray  # (W,) rows of the last date of each week
    drift: np.ndarray  # (W, S) planted drift of week w, decidable at the close of week w-1
    sectors: np.ndarray  # (S,)


def planted_drift(cfg: Config, arrays: FeatureArrays) -> PlantedDrift | None:
    """The planted drift of the synthetic market ``cfg`` describes, when ``arrays`` were built from it (same
    symbols, sectors and dates); None for other sources or when the build does not fit."""
    if cfg.data.source != "synthetic":
        return None
    from hrl_sarp.data.synthetic import generate_market

    truth = generate_market(cfg.data.synthetic).truth
    dates = np.asarray(arrays.dates).astype("datetime64[D]")
    fits = (
        set(map(str, arrays.symbols)) <= set(map(str, truth.symbols))
        and set(map(str, arrays.sectors)) <= set(map(str, truth.sectors))
        and np.isin(dates, truth.dates).all()
    )
    if not fits:
        return None
    return PlantedDrift(truth.dates, truth.week_end_index, truth.sector_drift_weekly, truth.sectors)


def strategy_skill(
    results: dict[str, list[Any]], arrays: FeatureArrays, truth: PlantedDrift
) -> dict[str, dict[str, float]]:
    """``{strategy: {drift_corr, active_share, drift_corr_std, drift_corr_seeds}}`` (means over seeds; std over
    seeds; the per-seed figures in the order of the runs) of the
    sector weights each strategy executed after every week-end decision of its span. ``results``: strategy name ->
    :class:`~hrl_sarp.backtest.engine.StrategyResult` per seed (those without sector weights are left out)."""
    weeks = np.asarray(arrays.week_end_index, dtype=np.int64)
    out: dict[str, dict[str, float]] = {}
    for name, runs in results.items():
        per_seed = []
        for run in runs:
            if run.sector_weights is None:
                break
            rows = np.asarray(run.rows, dtype=np.int64)
            decided = weeks[(weeks >= rows[0] - 1) & (weeks + 1 <= rows[-1])]
            drift = drift_faced(
                truth.dates, truth.week_end_index, truth.drift, truth.sectors, arrays.dates[decided], arrays.sectors
            )
            per_seed.append(tilt_skill(run.sector_weights[decided + 1 - rows[0]], drift))
        if per_seed:
            stats = {m: float(np.mean([p[m] for p in per_seed])) for m in TRUTH_METRICS}
            stats["drift_corr_std"] = float(np.std([p["drift_corr"] for p in per_seed]))
            stats["drift_corr_seeds"] = [float(p["drift_corr"]) for p in per_seed]
            out[name] = stats
    return out


def sector_tilts(sector_weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(K, S) sector weights -> ``(tilts (K, S), invested (K,) bool)``: the invested part normalised to sum 1 minus
    ``1/S``; rows with nothing invested get NaN tilts."""
    w = np.asarray(sector_weights, dtype=np.float64)
    total = w.sum(axis=1)
    invested = total > 1e-9
    share = np.divide(w, total[:, None], out=np.full_like(w, np.nan), where=invested[:, None])
    return share - 1.0 / w.shape[1], invested


def row_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of a and b (K, S); NaN where a row of either has no variance."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    norm = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    ok = np.isfinite(norm) & (norm > 1e-18)
    return np.divide((a * b).sum(axis=1), norm, out=np.full(len(a), np.nan), where=ok)


def tilt_skill(sector_weights: np.ndarray, drift: np.ndarray) -> dict[str, float]:
    """``drift_corr``, ``active_share`` (means over invested weeks) and ``truth_weeks`` for (K, S) decided sector
    weights against the (K, S) planted drift they face (rows of NaN drift are left out)."""
    tilts, invested = sector_tilts(sector_weights)
    known = invested & np.isfinite(drift).all(axis=1)
    if not known.any():
        return {"drift_corr": float("nan"), "active_share": float("nan"), "truth_weeks": 0.0}
    corr = row_correlation(tilts[known], np.asarray(drift, dtype=np.float64)[known])
    active = 0.5 * np.abs(tilts[known]).sum(axis=1)
    return {
        "drift_corr": float(np.nanmean(corr)) if np.isfinite(corr).any() else float("nan"),
        "active_share": float(active.mean()),
        "truth_weeks": float(known.sum()),
    }


def drift_faced(
    truth_dates: np.ndarray,
    truth_week_ends: np.ndarray,
    truth_drift: np.ndarray,
    truth_sectors: np.ndarray,
    decision_dates: np.ndarray,
    sectors: np.ndarray,
) -> np.ndarray:
    """(K, S) planted drift of the week after each decision date, columns in ``sectors`` order; NaN rows where the
    date is not a week end of the generator's calendar or has no following week.

    truth_dates (T,), truth_week_ends (W,) rows of the last date of each week, truth_drift (W, S'), truth_sectors (S').
    """
    order = {str(s): i for i, s in enumerate(truth_sectors)}
    missing = [str(s) for s in sectors if str(s) not in order]
    if missing:
        raise HrlSarpError(f"sectors {missing} are not in the synthetic market's ground truth")
    columns = np.array([order[str(s)] for s in sectors], dtype=np.int64)
    week_end_dates = np.asarray(truth_dates).astype("datetime64[D]")[truth_week_ends]
    wanted = np.asarray(decision_dates).astype("datetime64[D]")
    k = np.searchsorted(week_end_dates, wanted)
    inside = k < len(week_end_dates)
    exact = inside & (week_end_dates[np.minimum(k, len(week_end_dates) - 1)] == wanted)
    usable = exact & (k + 1 < len(truth_drift))
    out = np.full((len(wanted), len(columns)), np.nan)
    out[usable] = np.asarray(truth_drift, dtype=np.float64)[k[usable] + 1][:, columns]
    return out
