"""Indicators on (T, N) matrices agree with per-column pandas references to 1e-9."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hrl_sarp.features import indicators as ind

TOL = 1e-9


@pytest.fixture
def prices() -> np.ndarray:
    """(300, 6) random-walk prices; two columns start late (listed later)."""
    rng = np.random.default_rng(3)
    x = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, (300, 6)), axis=0))
    x[:37, 2] = np.nan
    x[:5, 4] = np.nan
    return x


def _per_column(x: np.ndarray, fn) -> np.ndarray:
    return np.column_stack(
        [fn(pd.Series(x[:, j]).dropna()).reindex(range(len(x))).to_numpy() for j in range(x.shape[1])]
    )


def assert_same(ours: np.ndarray, ref: np.ndarray) -> None:
    assert np.array_equal(np.isnan(ours), np.isnan(ref))
    np.testing.assert_allclose(ours[~np.isnan(ref)], ref[~np.isnan(ref)], rtol=0, atol=TOL)


def pandas_rsi(s: pd.Series, window: int = 14) -> pd.Series:
    delta = s.diff()
    gain = delta.clip(lower=0).ewm(alpha=1 / window, adjust=False, min_periods=window).mean()
    loss = (-delta.clip(upper=0)).ewm(alpha=1 / window, adjust=False, min_periods=window).mean()
    return 100 - 100 / (1 + gain / loss)


def pandas_macd(s: pd.Series) -> pd.Series:
    macd = s.ewm(span=12, adjust=False).mean() - s.ewm(span=26, adjust=False).mean()
    return macd - macd.ewm(span=9, adjust=False).mean()


def pandas_bb(s: pd.Series) -> pd.Series:
    mean, std = s.rolling(20).mean(), s.rolling(20).std(ddof=0)
    return (s - (mean - 2 * std)) / (4 * std)


def test_returns_match_pct_change(prices):
    for k in (1, 5, 20):
        assert_same(ind.simple_return(prices, k), _per_column(prices, lambda s, k=k: s.pct_change(k)))


def test_volatility_matches_rolling_std(prices):
    ret = ind.simple_return(prices, 1)
    ref = _per_column(prices, lambda s: s.pct_change().rolling(20).std() * np.sqrt(252))
    assert_same(ind.volatility(ret, 20), ref)


def test_rsi_matches_wilder_ewm(prices):
    ours = ind.rsi(prices, 14)
    assert_same(ours, _per_column(prices, pandas_rsi))
    assert np.nanmin(ours) >= 0 and np.nanmax(ours) <= 100


def test_macd_matches_pandas_ewm(prices):
    assert_same(ind.macd_histogram(prices), _per_column(prices, pandas_macd))


def test_bollinger_position_matches_pandas(prices):
    ours = ind.bollinger_position(prices, 20)
    assert_same(ours, _per_column(prices, pandas_bb))
    bound = np.sqrt(19) / 4
    assert np.nanmax(np.abs(ours - 0.5)) <= bound + 1e-12


def test_ewm_matches_pandas_with_min_periods(prices):
    ref = _per_column(prices, lambda s: s.ewm(alpha=0.1, adjust=False, min_periods=7).mean())
    assert_same(ind.ewm_mean(prices, 0.1, min_periods=7), ref)


def test_rolling_mean_and_volume_ratio(prices):
    assert_same(ind.rolling_mean(prices, 20), _per_column(prices, lambda s: s.rolling(20).mean()))
    ratio = ind.volume_ratio(prices, 20)
    assert_same(ratio, _per_column(prices, lambda s: s / s.rolling(20).mean()))
    assert np.nanmax(ratio) <= 20.0


def test_forward_fill_and_lag():
    x = np.array([[np.nan, 1.0], [2.0, np.nan], [np.nan, np.nan], [4.0, 5.0]])
    np.testing.assert_array_equal(ind.forward_fill(x), [[np.nan, 1], [2, 1], [2, 1], [4, 5]])
    np.testing.assert_array_equal(ind.lag(x, 1)[1:], x[:-1])
    assert np.isnan(ind.lag(x, 1)[0]).all()


def test_cross_sectional_tools():
    x = np.array([[1.0, 2.0, 3.0, np.nan], [5.0, 5.0, 5.0, 5.0], [np.nan] * 4])
    z = ind.cross_sectional_zscore(x)
    np.testing.assert_allclose(z[0, :3], [-np.sqrt(1.5), 0, np.sqrt(1.5)])
    assert np.isnan(z[0, 3]) and (z[1] == 0).all() and np.isnan(z[2]).all()
    np.testing.assert_array_equal(ind.row_nanmedian(x, fallback=-1.0), [2.0, 5.0, -1.0])
    even = np.array([[4.0, 1.0, np.nan, 3.0, 2.0]])
    assert ind.row_nanmedian(even)[0] == 2.5
    groups = np.array([0, 0, 1, 1])
    np.testing.assert_allclose(ind.group_mean(x[:2], groups, 2), [[1.5, 3.0], [5.0, 5.0]])
