"""Every feature at its bounds on the shapes real prices take: flat for weeks, one huge jump, halted for months,
prices like 0.01 and 1e6, listings and delistings inside the rolling windows, a benchmark with gaps.

The whole path runs: validation at ingestion, the feature build with its Pandera checks, the array loader.
"""

from __future__ import annotations

import numpy as np
import pytest

from hrl_sarp import warehouse as wh
from hrl_sarp.features import indicators as ind
from hrl_sarp.features.build import build_features
from hrl_sarp.features.loader import load_feature_arrays
from hrl_sarp.ingest import PreparedBatch, load_batch, validate_batch
from schemas.features import BB_BOUND, ROUNDING_TOLERANCE, FeatureValidationError, validate_feature_frame
from tests.features.raw_market import feature_config, make_market
from tests.schemas.test_features import macro_frame, stock_frame

DAYS = 220


def adversarial_market():
    """make_market (one late listing, one early delisting, a 2-day halt) reshaped stock by stock."""
    raw = make_market(sectors=("Auto", "Energy", "IT"), per_sector=4, days=DAYS, seed=3, close_only=True)
    prices = raw.prices
    symbols = sorted(raw.securities.loc[raw.securities["kind"] == "stock", "symbol"])
    dates = np.sort(prices["date"].unique())

    def set_close(symbol: str, close_of) -> None:
        rows = prices["symbol"] == symbol
        prices.loc[rows, "close"] = close_of(prices.loc[rows, "close"].to_numpy(), np.flatnonzero(rows.to_numpy()))

    # flat for 40 sessions, then a breakout: %B lands on its theoretical bound 0.5 +- sqrt(19)/4
    def flat_then_breakout(close, _):
        out = close.copy()
        out[60:100] = 3.322
        out[100] = 3.323
        out[101:] = 3.323
        return out

    set_close(symbols[4], flat_then_breakout)
    set_close(symbols[5], lambda c, _: np.where(np.arange(len(c)) >= 120, c * 100.0, c))  # one x100 jump
    set_close(symbols[6], lambda c, _: np.round(c * 1e-4, 2).clip(0.01))  # pennies: long flat runs at 0.01-0.02
    set_close(symbols[7], lambda c, _: np.round(c * 1e4, 2))  # about 1e6
    set_close(symbols[8], lambda c, _: np.round(c, 1))  # coarse tick: many flat windows
    halted = (prices["symbol"] == symbols[9]) & prices["date"].between(dates[70], dates[160])
    gaps = (prices["symbol"] == "NIFTY50") & (
        prices["date"].isin(dates[::7]) | prices["date"].between(dates[100], dates[130])
    )
    prices = prices.loc[~(halted | gaps)].reset_index(drop=True)
    for column in ("open", "high", "low", "adj_close"):
        prices[column] = np.nan  # close-only, like the real folder
    raw.prices = prices
    return raw


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = tmp_path_factory.mktemp("bounds") / "wh.duckdb"
    cfg = feature_config(path)
    raw = adversarial_market()
    batch = validate_batch(cfg, PreparedBatch("test", "adversarial", raw, [], rows_read=sum(raw.row_counts().values())))
    assert not batch.rejections, batch.rejections[:3]
    with wh.open_warehouse(path) as con:
        load_batch(cfg, batch, progress=False, con=con)
        summary = build_features(con, cfg)  # raises FeatureValidationError if any check fails
        arrays = load_feature_arrays(con, summary.build_id)
    return summary, arrays


def test_adversarial_prices_build_and_stay_in_range(built):
    summary, a = built
    assert summary.benchmark_source == "index" and np.isfinite(a.stock_features).all()
    names = list(a.stock_feature_names)
    bb = a.stock_features[:, :, names.index("bb_position")]
    rsi = a.stock_features[:, :, names.index("rsi_14")]
    assert bb.min() >= 0.5 - BB_BOUND - 1e-12 and bb.max() <= 0.5 + BB_BOUND + 1e-12
    assert rsi.min() >= 0.0 and rsi.max() <= 100.0
    assert np.isfinite(a.macro).all() and np.isfinite(a.benchmark_returns).all()


def test_flat_window_is_neutral_and_breakout_reaches_the_bound(built):
    _, a = built
    names = list(a.stock_feature_names)
    stock = 4
    bb = a.stock_features[:, stock, names.index("bb_position")]
    offset = DAYS - a.n_dates  # warm-up rows dropped by the build
    flat = slice(80 - offset, 100 - offset)  # windows entirely inside the flat stretch
    np.testing.assert_array_equal(bb[flat], 0.5)  # neutral, not an arbitrary value from an ulp-sized std
    assert bb[100 - offset] == pytest.approx(0.5 + BB_BOUND, abs=1e-9)


def test_bollinger_flat_window_has_no_position():
    price = np.r_[np.full(25, 3.322), 3.323, np.full(5, 0.1 + 0.2)]
    bb = ind.bollinger_position(price, 20)
    assert np.isnan(bb[19:25]).all()
    assert bb[25] == pytest.approx(0.5 + BB_BOUND, abs=1e-12)
    assert 0.5 - BB_BOUND - 1e-12 <= bb[26] < 0.0  # the fall back to 0.3 sits near the lower bound


@pytest.mark.parametrize(
    ("column", "bound", "outward"),
    [("bb_position", 0.5 - BB_BOUND, -1), ("bb_position", 0.5 + BB_BOUND, 1), ("rsi_14", 0.0, -1),
     ("rsi_14", 100.0, 1), ("volume_ratio_20d", 20.0, 1), ("return_5d", -1.0, -1), ("volatility_20d", 0.0, -1)],
)  # fmt: skip
def test_rounding_at_a_bound_passes_and_a_real_excess_fails(column, bound, outward):
    frame = stock_frame()
    frame.loc[0, column] = bound + outward * 4 * np.finfo(float).eps * max(1.0, abs(bound))  # a few ulps out
    validate_feature_frame("stock_features", frame)
    frame.loc[0, column] = bound + outward * 1e3 * ROUNDING_TOLERANCE * max(1.0, abs(bound))
    with pytest.raises(FeatureValidationError, match=column):
        validate_feature_frame("stock_features", frame)


def test_macro_bound_rounding_passes():
    frame = macro_frame()
    frame.loc[0, "breadth_advance_decline"] = 1.0 + 2 * np.finfo(float).eps
    frame.loc[1, "crude_regime"] = -1.0 - 2 * np.finfo(float).eps
    validate_feature_frame("macro_features", frame)
