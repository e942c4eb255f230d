"""Stationary bootstrap (Politis & Romano, 1994) interval for the Sharpe-ratio difference of two return series.

The two series are resampled *pairwise* (the same resampled days for both), which keeps their cross-correlation;
blocks start at uniformly drawn days and have geometric lengths with mean ``block_length`` (wrapping around the end),
which keeps short-range serial dependence. The interval is the percentile interval of the resampled differences.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hrl_sarp.backtest.metrics import sharpe_along_last_axis
from hrl_sarp.domain import TRADING_DAYS_PER_YEAR


@dataclass(frozen=True)
class BootstrapInterval:
    """Sharpe(a) - Sharpe(b) on the original data, and its ``confidence`` percentile interval."""

    estimate: float
    low: float
    high: float
    confidence: float
    n_samples: int
    block_length: float

    def as_dict(self) -> dict[str, float]:
        return {
            "sharpe_diff": self.estimate,
            "sharpe_diff_low": self.low,
            "sharpe_diff_high": self.high,
        }


def stationary_bootstrap_indices(
    n_obs: int, n_samples: int, block_length: float, rng: np.random.Generator
) -> np.ndarray:
    """(n_samples, n_obs) int64 resampling indices of the stationary bootstrap.

    Each position starts a new block with probability ``1 / block_length`` (always at position 0) at a uniform
    random day; otherwise it takes the day after the previous position, modulo ``n_obs``.
    """
    if n_obs < 1 or n_samples < 1:
        raise ValueError("need at least one observation and one sample")
    p_new = 1.0 / max(float(block_length), 1.0)
    new_block = rng.random((n_samples, n_obs)) < p_new
    new_block[:, 0] = True
    starts = rng.integers(0, n_obs, size=(n_samples, n_obs))
    pos = np.arange(n_obs)
    last_start = np.maximum.accumulate(np.where(new_block, pos[None, :], 0), axis=1)
    block_start_day = np.take_along_axis(starts, last_start, axis=1)
    return (block_start_day + (pos[None, :] - last_start)) % n_obs


def _paired_resamples(
    returns_a: np.ndarray, returns_b: np.ndarray, n_samples: int, block_length: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(a (L,), b (L,), indices (n_samples, L))``: the two series checked for a paired bootstrap and the seeded
    stationary-bootstrap resampling of their common days."""
    a = np.asarray(returns_a, dtype=np.float64).ravel()
    b = np.asarray(returns_b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"paired bootstrap needs equal lengths, got {a.size} and {b.size}")
    if a.size < 3:
        raise ValueError("the bootstrap needs at least 3 daily returns")
    return a, b, stationary_bootstrap_indices(a.size, n_samples, block_length, np.random.default_rng(seed))


def _percentiles(values: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(values, [tail, 1.0 - tail])
    return float(low), float(high)


def sharpe_difference_interval(
    returns_a: np.ndarray,
    returns_b: np.ndarray,
    n_samples: int = 1000,
    block_length: float = 20.0,
    confidence: float = 0.95,
    seed: int = 0,
    periods: int = TRADING_DAYS_PER_YEAR,
) -> BootstrapInterval:
    """Paired stationary-bootstrap interval for ``Sharpe(a) - Sharpe(b)``.

    returns_a, returns_b: (L,) daily returns over the same sessions. Seeded: same inputs and seed, same interval.
    """
    a, b, idx = _paired_resamples(returns_a, returns_b, n_samples, block_length, seed)
    estimate = sharpe_along_last_axis(np.stack([a, b]), periods)
    diffs = sharpe_along_last_axis(a[idx], periods) - sharpe_along_last_axis(b[idx], periods)
    low, high = _percentiles(diffs, confidence)
    return BootstrapInterval(
        estimate=float(estimate[0] - estimate[1]),
        low=low,
        high=high,
        confidence=confidence,
        n_samples=n_samples,
        block_length=float(block_length),
    )


def information_ratio_interval(
    returns_a: np.ndarray,
    returns_b: np.ndarray,
    n_samples: int = 1000,
    block_length: float = 20.0,
    confidence: float = 0.95,
    seed: int = 0,
    periods: int = TRADING_DAYS_PER_YEAR,
) -> tuple[float, float, float]:
    """``(IR, low, high)``: the annualised information ratio of a over b (the Sharpe of the daily differences) and
    its paired stationary-bootstrap percentile interval (same resampling as :func:`sharpe_difference_interval`)."""
    a, b, idx = _paired_resamples(returns_a, returns_b, n_samples, block_length, seed)
    diff = a - b
    low, high = _percentiles(sharpe_along_last_axis(diff[idx], periods), confidence)
    return float(sharpe_along_last_axis(diff, periods)), low, high
