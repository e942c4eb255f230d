"""Pandera models of the feature tables: good frames pass, broken ones fail naming the column and the check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hrl_sarp.features.spec import MACRO_FEATURES, STOCK_FEATURES
from schemas.features import (
    FeatureValidationError,
    validate_feature_frame,
    validate_feature_frames,
)


def stock_frame(days: int = 10, stocks: int = 4) -> pd.DataFrame:
    dates = np.repeat(pd.bdate_range("2024-01-01", periods=days).values.astype("datetime64[ns]"), stocks)
    frame = pd.DataFrame({"date": dates, "stock_index": np.tile(np.arange(stocks, dtype=np.int32), days)})
    rng = np.random.default_rng(0)
    for name in STOCK_FEATURES:
        frame[name] = rng.uniform(0.0, 0.5, len(frame))
    frame["rsi_14"] = 50.0
    return frame


def macro_frame(days: int = 10) -> pd.DataFrame:
    frame = pd.DataFrame({"date": pd.bdate_range("2024-01-01", periods=days).values.astype("datetime64[ns]")})
    for name in MACRO_FEATURES:
        frame[name] = 0.0
    frame["days_to_next_event"] = 12.0
    return frame


def test_good_frames_pass():
    validate_feature_frames({"stock_features": stock_frame(), "macro_features": macro_frame()})


def test_nan_burst_and_rsi_out_of_range_are_named():
    frame = stock_frame()
    frame.loc[5:12, "return_5d"] = np.nan  # a NaN burst after warm-up
    frame.loc[3, "rsi_14"] = 130.0
    with pytest.raises(FeatureValidationError) as err:
        validate_feature_frame("stock_features", frame)
    message = str(err.value)
    assert "stock_features" in message
    assert "column 'return_5d' failed check 'not_nullable'" in message and "(8 rows" in message
    assert "column 'rsi_14' failed check 'within(low=0.0, high=100.0)'" in message and "130.0" in message
    cases = err.value.failure_cases
    assert {("return_5d", "not_nullable"), ("rsi_14", "within(low=0.0, high=100.0)")} <= set(
        zip(cases["column"], cases["check"], strict=True)
    )


def test_duplicate_keys_wrong_dtype_and_extra_columns_fail():
    frame = pd.concat([stock_frame(), stock_frame().iloc[:1]], ignore_index=True)
    with pytest.raises(FeatureValidationError, match=r"unique_key\(date, stock_index\)"):
        validate_feature_frame("stock_features", frame)
    frame = stock_frame()
    frame["stock_index"] = frame["stock_index"].astype(np.float64)
    with pytest.raises(FeatureValidationError, match="stock_index"):
        validate_feature_frame("stock_features", frame)
    frame = stock_frame().assign(extra=1.0)
    with pytest.raises(FeatureValidationError, match="extra"):
        validate_feature_frame("stock_features", frame)


def test_infinite_and_out_of_range_macro_values_fail():
    frame = macro_frame()
    frame.loc[2, "credit_spread"] = np.inf
    frame.loc[4, "event_risk_flag"] = 0.5
    with pytest.raises(FeatureValidationError) as err:
        validate_feature_frame("macro_features", frame)
    assert "'credit_spread' failed check 'finite'" in str(err.value)
    assert "'event_risk_flag' failed check 'isin" in str(err.value)


def test_bollinger_bound_is_the_theoretical_one():
    frame = stock_frame()
    frame.loc[0, "bb_position"] = 0.5 + np.sqrt(19) / 4 + 1e-6
    with pytest.raises(FeatureValidationError, match="bb_position"):
        validate_feature_frame("stock_features", frame)


def test_sector_tables_share_their_key_check_and_sentiment_is_bounded():
    dates = pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-02"])
    features = pd.DataFrame({"date": dates, "sector": ["A", "B", "A"], "sentiment_1w": [0.1, -1.0, 1.0]})
    validate_feature_frame("sector_features", features)
    bad = features.assign(sentiment_1w=[0.1, -1.2, np.nan])
    with pytest.raises(FeatureValidationError) as err:
        validate_feature_frame("sector_features", bad)
    assert "'sentiment_1w' failed check 'greater_than_or_equal_to(-1.0)'" in str(err.value)
    assert "'sentiment_1w' failed check 'not_nullable'" in str(err.value)
    returns = pd.DataFrame(
        {"date": dates[[0, 0]], "sector": ["A", "A"], "equal_weighted": [0.01, 0.02], "cap_weighted": [0.01, 0.02],
         "n_stocks": np.array([2, 2], dtype=np.int32)}
    )  # fmt: skip
    with pytest.raises(FeatureValidationError, match=r"unique_key\(date, sector\)"):
        validate_feature_frame("sector_returns", returns)
