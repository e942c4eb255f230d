"""The in-memory form of a feature build that every training stage consumes.

Shapes: T trading dates, N symbols (stocks only), S sectors, F stock features, M macro features, G sector features,
W weeks.
Everything at row t is known at the close of ``dates[t]`` except the explicitly labelled ``forward_*`` arrays,
which are training labels and must never be used as inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FeatureArrays:
    build_id: str
    dates: np.ndarray  # (T,) datetime64[D]
    symbols: np.ndarray  # (N,) str
    sectors: np.ndarray  # (S,) str, sorted
    stock_sector: np.ndarray  # (N,) int64 index into ``sectors``
    stock_features: np.ndarray  # (T, N, F) float64, neutral-filled, z-scored where documented
    stock_feature_names: tuple[str, ...]  # (F,)
    macro: np.ndarray  # (T, M) float64 macro state without portfolio_drawdown
    macro_names: tuple[str, ...]  # (M,)
    close: np.ndarray  # (T, N) float64 close price, NaN where not listed
    open: np.ndarray  # (T, N) float64 open price (close where the source has none)
    stock_returns: np.ndarray  # (T, N) close-to-close simple return from t-1 to t, 0 where unknown
    tradable: np.ndarray  # (T, N) bool: listed, priced and passing the liquidity filter at t
    adv_value: np.ndarray  # (T, N) 20-day average traded value (close * volume), NaN without volume
    sector_returns: np.ndarray  # (T, S) equal-weighted daily sector return at t
    sector_returns_cap: np.ndarray  # (T, S) cap-weighted daily sector return at t
    benchmark_returns: np.ndarray  # (T,) benchmark daily return at t
    regime_labels: np.ndarray  # (T,) int64 regime of the trailing week ending at t (0 Bull, 1 Bear, 2 Sideways)
    week_end_index: np.ndarray  # (W,) int64 row index of the last trading date of each week
    forward_returns: np.ndarray  # (T, N) LABEL: return from close t to close t+h; NaN past the end
    sector_features: np.ndarray | None = None  # (T, S, G) per-sector inputs at t (sector sentiment); None: none
    sector_feature_names: tuple[str, ...] = ()  # (G,)

    def sector_inputs(self, rows: np.ndarray) -> np.ndarray:
        """(K, S, G) sector features at ``rows (K,)``; (K, S, 0) when the build has none."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.sector_features is None:
            return np.zeros((len(rows), self.n_sectors, 0))
        return self.sector_features[rows]

    @property
    def n_dates(self) -> int:
        return len(self.dates)

    @property
    def n_stocks(self) -> int:
        return len(self.symbols)

    @property
    def n_sectors(self) -> int:
        return len(self.sectors)

    def sector_membership(self) -> np.ndarray:
        """(S, N) 0/1 matrix mapping stocks to sectors."""
        member = np.zeros((self.n_sectors, self.n_stocks))
        member[self.stock_sector, np.arange(self.n_stocks)] = 1.0
        return member
