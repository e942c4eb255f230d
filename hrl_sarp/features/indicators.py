"""Technical indicators on (dates x symbols) matrices, vectorised over all symbols at once.

Every function takes float64 arrays of shape (T, N) (T dates in time order, N symbols; a 1-D (T,) array is
treated as one column) where NaN means "not known at that date", and returns an array of the same shape. A value
at row t uses rows <= t only. Windows follow pandas conventions: a rolling value needs a full window of finite
inputs (``min_periods = window``), and an EWM is ``adjust=False`` and starts at each column's first finite value.
Recursive filters (EWMs) run as one :func:`scipy.signal.lfilter` call over the whole matrix, not a loop per symbol.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from hrl_sarp.domain import TRADING_DAYS_PER_YEAR


def _as_2d(x: np.ndarray) -> tuple[np.ndarray, bool]:
    arr = np.asarray(x, dtype=np.float64)
    return (arr[:, None], True) if arr.ndim == 1 else (arr, False)


def _restore(arr: np.ndarray, squeeze: bool) -> np.ndarray:
    return arr[:, 0] if squeeze else arr


def forward_fill(x: np.ndarray) -> np.ndarray:
    """(T, N) -> (T, N): each NaN replaced by the last finite value above it (NaN before the first)."""
    arr, squeeze = _as_2d(x)
    finite = np.isfinite(arr)
    rows = np.where(finite, np.arange(arr.shape[0])[:, None], 0)
    np.maximum.accumulate(rows, axis=0, out=rows)
    out = arr[rows, np.arange(arr.shape[1])[None, :]]
    out[~np.maximum.accumulate(finite, axis=0)] = np.nan
    return _restore(out, squeeze)


def lag(x: np.ndarray, periods: int) -> np.ndarray:
    """(T, N) -> (T, N): row t holds row t - periods (NaN for the first ``periods`` rows)."""
    arr, squeeze = _as_2d(x)
    out = np.full_like(arr, np.nan)
    if periods < arr.shape[0]:
        out[periods:] = arr[: arr.shape[0] - periods]
    return _restore(out, squeeze)


def simple_return(price: np.ndarray, periods: int) -> np.ndarray:
    """(T, N) prices -> (T, N) simple return ``price[t] / price[t - periods] - 1`` (pandas ``pct_change``)."""
    arr, squeeze = _as_2d(price)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = arr / lag(arr, periods) - 1.0
    return _restore(out, squeeze)


def rolling_mean(x: np.ndarray, window: int) -> np.ndarray:
    """(T, N) -> (T, N) mean of rows t-window+1..t; NaN unless all ``window`` values are finite."""
    arr, squeeze = _as_2d(x)
    T = arr.shape[0]
    out = np.full_like(arr, np.nan)
    if window <= T:
        total = arr[window - 1 :].copy()
        for k in range(1, window):  # a loop over lags (window is small), each step vectorised over the matrix
            total += arr[window - 1 - k : T - k]
        out[window - 1 :] = total / window
    return _restore(out, squeeze)


def trailing_sum(x: np.ndarray, window: int) -> np.ndarray:
    """(T, ...) -> (T, ...) sum of rows max(0, t-window+1)..t (the first rows sum what there is); x finite."""
    total = np.cumsum(np.asarray(x, dtype=np.float64), axis=0)
    out = total.copy()
    out[window:] -= total[:-window]
    return out


def rolling_std(x: np.ndarray, window: int, ddof: int = 1) -> np.ndarray:
    """(T, N) -> (T, N) standard deviation over rows t-window+1..t (two-pass, so no cancellation error)."""
    arr, squeeze = _as_2d(x)
    T = arr.shape[0]
    out = np.full_like(arr, np.nan)
    if window <= T:
        mean = rolling_mean(arr, window)[window - 1 :]
        sq = np.zeros_like(mean)
        for k in range(window):
            sq += (arr[window - 1 - k : T - k] - mean) ** 2
        out[window - 1 :] = np.sqrt(sq / (window - ddof))
    return _restore(out, squeeze)


def ewm_mean(x: np.ndarray, alpha: float, min_periods: int = 1) -> np.ndarray:
    """(T, N) -> (T, N) exponentially weighted mean, ``y[t] = (1 - alpha) y[t-1] + alpha x[t]``.

    Matches pandas ``ewm(alpha=alpha, adjust=False, min_periods=min_periods).mean()`` for columns that are finite
    from their first finite value on; a NaN after that start is treated as 0 (callers fill gaps first). Leading
    NaNs are replaced by the first finite value, which leaves the filter in its steady state at that value, so one
    ``lfilter`` call runs over every column.
    """
    arr, squeeze = _as_2d(x)
    finite = np.isfinite(arr)
    started = np.maximum.accumulate(finite, axis=0)
    cols = np.arange(arr.shape[1])
    first = arr[finite.argmax(axis=0), cols]
    first = np.where(started[-1], first, 0.0)
    filled = np.where(started, np.nan_to_num(arr, nan=0.0), first[None, :])
    out, _ = lfilter([alpha], [1.0, alpha - 1.0], filled, axis=0, zi=((1.0 - alpha) * first)[None, :])
    first_row = np.where(started[-1], finite.argmax(axis=0), arr.shape[0])
    out[np.arange(arr.shape[0])[:, None] < first_row[None, :] + (min_periods - 1)] = np.nan
    return _restore(out, squeeze)


def ewm_span(x: np.ndarray, span: int, min_periods: int = 1) -> np.ndarray:
    """EWM with ``alpha = 2 / (span + 1)`` (pandas ``ewm(span=...)``)."""
    return ewm_mean(x, 2.0 / (span + 1.0), min_periods=min_periods)


def volatility(returns: np.ndarray, window: int = 20) -> np.ndarray:
    """(T, N) daily returns -> (T, N) annualised volatility: rolling std (ddof=1) x sqrt(252)."""
    return rolling_std(returns, window, ddof=1) * np.sqrt(TRADING_DAYS_PER_YEAR)


def rsi(price: np.ndarray, window: int = 14) -> np.ndarray:
    """(T, N) prices -> (T, N) Wilder RSI in [0, 100].

    Gains and losses of ``price.diff()`` are smoothed with an EWM of ``alpha = 1/window`` (adjust=False,
    min_periods=window); RSI = 100 - 100 / (1 + gain / loss); 100 when there were no losses, NaN when the price
    never moved.
    """
    arr, squeeze = _as_2d(price)
    delta = arr - lag(arr, 1)
    gain = ewm_mean(np.where(np.isnan(delta), np.nan, np.maximum(delta, 0.0)), 1.0 / window, window)
    loss = ewm_mean(np.where(np.isnan(delta), np.nan, np.maximum(-delta, 0.0)), 1.0 / window, window)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 100.0 - 100.0 / (1.0 + gain / loss)
    out = np.where((loss == 0) & (gain > 0), 100.0, out)
    return _restore(out, squeeze)


def macd_histogram(price: np.ndarray, fast: int = 12, slow: int = 26, signal: int = 9) -> np.ndarray:
    """(T, N) prices -> (T, N) MACD histogram ``macd - ema_signal(macd)`` with ``macd = ema_fast - ema_slow``."""
    macd = ewm_span(price, fast) - ewm_span(price, slow)
    return macd - ewm_span(macd, signal)


# Relative spread below which a window of prices counts as flat (real price moves are far above 1e-10).
FLAT_WINDOW_RTOL = 1e-10


def bollinger_position(price: np.ndarray, window: int = 20, width: float = 2.0) -> np.ndarray:
    """(T, N) prices -> (T, N) %B: ``(price - lower) / (upper - lower)`` with bands ``sma +- width * std``.

    std is the population std (ddof=0, Bollinger's convention), so with the price inside its own window %B lies
    in ``0.5 +- sqrt(window - 1) / (2 * width)``. NaN when the band has zero width: a window whose std is below
    :data:`FLAT_WINDOW_RTOL` of its mean is flat (identical prices leave an ulp-sized std from rounding the mean,
    which would otherwise give an arbitrary %B such as 0.25).
    """
    mean = rolling_mean(price, window)
    std = rolling_std(price, window, ddof=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (np.asarray(price, dtype=np.float64) - (mean - width * std)) / (2.0 * width * std)
    return np.where(std > FLAT_WINDOW_RTOL * np.abs(mean), out, np.nan)


def volume_ratio(volume: np.ndarray, window: int = 20) -> np.ndarray:
    """(T, N) volumes -> (T, N) ``volume[t] / mean(volume[t-window+1..t])``; NaN when that mean is 0."""
    mean = rolling_mean(volume, window)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(mean > 0, np.asarray(volume, dtype=np.float64) / mean, np.nan)


def cross_sectional_zscore(x: np.ndarray, clip: float | None = None) -> np.ndarray:
    """(T, N) -> (T, N) z-score across the finite values of each row (population std); NaN where x is NaN."""
    arr = np.asarray(x, dtype=np.float64)
    finite = np.isfinite(arr)
    count = np.maximum(finite.sum(axis=1, keepdims=True), 1)
    mean = np.where(finite, arr, 0.0).sum(axis=1, keepdims=True) / count
    dev = np.where(finite, arr - mean, 0.0)
    std = np.sqrt((dev * dev).sum(axis=1, keepdims=True) / count)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(finite, np.where(std > 0, dev / std, 0.0), np.nan)
    return np.clip(z, -clip, clip) if clip is not None else z


def group_mean(x: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """(T, N) values and (N,) group codes -> (T, G) mean of the finite values of each group per row."""
    arr = np.asarray(x, dtype=np.float64)
    member = np.zeros((arr.shape[1], n_groups))
    member[np.arange(arr.shape[1]), groups] = 1.0
    finite = np.isfinite(arr)
    total = np.where(finite, arr, 0.0) @ member
    count = finite.astype(np.float64) @ member
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def row_nanmedian(x: np.ndarray, fallback: float = np.nan) -> np.ndarray:
    """(T, N) -> (T,) median of the finite values of each row; ``fallback`` for rows without one.

    One sort of the matrix (NaN sorts last) instead of ``np.nanmedian``'s masked-array path.
    """
    arr = np.where(np.isfinite(x), x, np.nan)
    ordered = np.sort(arr, axis=1)
    count = np.isfinite(arr).sum(axis=1)
    rows = np.arange(arr.shape[0])
    lo = ordered[rows, np.maximum((count - 1) // 2, 0)]
    hi = ordered[rows, np.minimum(count // 2, arr.shape[1] - 1)]
    median = np.where(count % 2 == 1, lo, 0.5 * (lo + hi))
    return np.where(count > 0, median, fallback)
