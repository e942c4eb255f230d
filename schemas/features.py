"""Pandera models of the feature tables (the contract between the feature build and training stages).

One model per table of ``warehouse/migrations/002_features.sql``, for the frames the builder writes (without the
``build_id`` column, which is constant per build). They check dtypes, value ranges, that no value is missing
after warm-up (only the documented nullable columns may be NaN) and that keys are unique.
:func:`validate_feature_frames` runs them lazily and raises :class:`FeatureValidationError` whose message names
each failing table, column and check.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.extensions
import pandera.pandas as pa
from pandera.errors import SchemaErrors
from pandera.typing import Series

from hrl_sarp.domain import EVENT_HORIZON_DAYS, FLOW_CLIP, N_REGIMES, REGIMES, SURPRISE_CLIP, Z_CLIP, HrlSarpError

_NS_PER_DAY = 86_400_000_000_000

# %B with the price inside its own 20-day window lies in 0.5 +- sqrt(19) / 4.
BB_BOUND = float(np.sqrt(19.0) / 4.0)

# Every range check below encodes a bound that holds exactly in real arithmetic (a return >= -1, %B within
# 0.5 +- BB_BOUND, RSI in [0, 100], ...). Floating point reaches such a bound from either side (the %B of a price
# breaking out of a flat window is the bound itself, give or take an ulp), so each check is widened by this much,
# relative to the bound's size (absolute below 1). A value outside by more is a real defect, not rounding.
ROUNDING_TOLERANCE = 1e-9


def _slack(bound: float) -> float:
    return ROUNDING_TOLERANCE * max(1.0, abs(bound))


# Two range checks that allow the rounding slack; registered once with pandera so that they read as field keywords
# and a failure names the bound as written: check 'within(low=0.0, high=100.0)'.
if not hasattr(pa.Check, "within"):

    @pandera.extensions.register_check_method(statistics=["low", "high"])
    def within(series: pd.Series, *, low: float, high: float) -> pd.Series:
        """``low <= value <= high`` up to :data:`ROUNDING_TOLERANCE`."""
        return (series >= low - _slack(low)) & (series <= high + _slack(high))

    @pandera.extensions.register_check_method(statistics=["bound"])
    def at_least(series: pd.Series, *, bound: float) -> pd.Series:
        """``value >= bound`` up to :data:`ROUNDING_TOLERANCE`."""
        return series >= bound - _slack(bound)


def _ge(bound: float) -> dict:
    """``pa.Field`` keywords for ``value >= bound`` up to :data:`ROUNDING_TOLERANCE`."""
    return {"at_least": {"bound": float(bound)}}


def _between(low: float, high: float) -> dict:
    """``pa.Field`` keywords for ``low <= value <= high`` up to :data:`ROUNDING_TOLERANCE`."""
    return {"within": {"low": float(low), "high": float(high)}}


class FeatureValidationError(HrlSarpError):
    """A feature frame broke its schema; the message names table, column and check."""

    def __init__(self, table: str, failure_cases: pd.DataFrame):
        self.table = table
        self.failure_cases = failure_cases
        super().__init__(f"feature table '{table}' failed validation: {describe_failures(failure_cases)}")


def describe_failures(failure_cases: pd.DataFrame, limit: int = 6) -> str:
    """One line: ``column 'rsi_14' failed check 'in_range(0, 100)' (3 rows, e.g. 101.0); ...``."""
    parts = []
    grouped = failure_cases.groupby(["column", "check"], dropna=False, sort=False)
    for (column, check), cases in list(grouped)[:limit]:
        example = cases["failure_case"].iloc[0]
        where = f"column '{column}'" if isinstance(column, str) else "frame"
        parts.append(f"{where} failed check '{check}' ({len(cases)} rows, e.g. {example})")
    more = grouped.ngroups - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def _unique_key(df: pd.DataFrame, second: str) -> pd.Series:
    """True for rows whose (date, second) key occurs once (vectorised via one int64 key)."""
    days = df["date"].to_numpy().astype("datetime64[ns]").astype(np.int64) // _NS_PER_DAY
    column = df[second]
    codes = column.to_numpy() if pd.api.types.is_integer_dtype(column) else pd.factorize(column)[0]
    key = days * (1 << 31) + np.asarray(codes, dtype=np.int64)
    if len(key) < 2 or bool((key[1:] > key[:-1]).all()):  # sorted frames (as the builder writes) are cheap
        return pd.Series(True, index=df.index)
    return ~pd.Series(key, index=df.index).duplicated(keep=False)


def _finite(series: pd.Series) -> pd.Series:
    return pd.Series(np.isfinite(series.to_numpy(dtype=np.float64)) | series.isna().to_numpy(), index=series.index)


class FeatureBuildStocksSchema(pa.DataFrameModel):
    stock_index: Series[np.int32] = pa.Field(ge=0, unique=True)
    symbol: Series[str] = pa.Field(unique=True, str_length={"min_value": 1})
    sector: Series[str] = pa.Field(str_length={"min_value": 1})
    sector_index: Series[np.int32] = pa.Field(ge=0)

    class Config:
        strict = True


class StockFeaturesSchema(pa.DataFrameModel):
    """The 22 stock features per (date, stock); neutral-filled, so no NaN after warm-up."""

    date: Series[pd.Timestamp]
    stock_index: Series[np.int32] = pa.Field(ge=0)
    return_1d: Series[float] = pa.Field(**_ge(-1.0))
    return_5d: Series[float] = pa.Field(**_ge(-1.0))
    return_20d: Series[float] = pa.Field(**_ge(-1.0))
    volatility_20d: Series[float] = pa.Field(**_ge(0.0))
    rsi_14: Series[float] = pa.Field(**_between(0.0, 100.0))
    macd_signal: Series[float]
    bb_position: Series[float] = pa.Field(**_between(0.5 - BB_BOUND, 0.5 + BB_BOUND))
    volume_ratio_20d: Series[float] = pa.Field(**_between(0.0, 20.0))
    delivery_pct: Series[float] = pa.Field(**_between(0.0, 100.0))
    pe_zscore: Series[float] = pa.Field(**_between(-Z_CLIP, Z_CLIP))
    pb_zscore: Series[float] = pa.Field(**_between(-Z_CLIP, Z_CLIP))
    roe: Series[float]
    roce: Series[float]
    debt_to_equity: Series[float]
    ev_ebitda_zscore: Series[float] = pa.Field(**_between(-Z_CLIP, Z_CLIP))
    earnings_surprise: Series[float] = pa.Field(**_between(-SURPRISE_CLIP, SURPRISE_CLIP))
    promoter_pledge_pct: Series[float] = pa.Field(**_between(0.0, 100.0))
    sector_relative_strength: Series[float]
    market_cap_log: Series[float]
    free_float_pct: Series[float] = pa.Field(**_between(0.0, 100.0))
    fii_holding_change: Series[float]
    avg_analyst_rating: Series[float]

    @pa.check(
        "return_1d", "return_5d", "return_20d", "volatility_20d", "macd_signal", "roe", "roce", "debt_to_equity",
        "sector_relative_strength", "market_cap_log", "fii_holding_change", "avg_analyst_rating",
        name="finite",
    )  # fmt: skip
    @classmethod
    def _finite(cls, series: pd.Series) -> pd.Series:
        return _finite(series)

    @pa.dataframe_check(name="unique_key(date, stock_index)")
    @classmethod
    def _unique(cls, df: pd.DataFrame) -> pd.Series:
        return _unique_key(df, "stock_index")

    class Config:
        strict = True


class StockPanelSchema(pa.DataFrameModel):
    """Prices and tradability the environments trade on."""

    date: Series[pd.Timestamp]
    stock_index: Series[np.int32] = pa.Field(ge=0)
    close: Series[float] = pa.Field(gt=0.0, nullable=True)
    open: Series[float] = pa.Field(gt=0.0, nullable=True)
    stock_return: Series[float] = pa.Field(**_ge(-1.0))
    adv_value: Series[float] = pa.Field(**_ge(0.0), nullable=True)
    tradable: Series[bool]

    @pa.dataframe_check(name="tradable_has_price")
    @classmethod
    def _tradable_priced(cls, df: pd.DataFrame) -> pd.Series:
        return ~df["tradable"] | df["close"].notna()

    @pa.dataframe_check(name="unique_key(date, stock_index)")
    @classmethod
    def _unique(cls, df: pd.DataFrame) -> pd.Series:
        return _unique_key(df, "stock_index")

    class Config:
        strict = True


class MacroFeaturesSchema(pa.DataFrameModel):
    """The 17 market members of the macro state (portfolio_drawdown is added by the environment)."""

    date: Series[pd.Timestamp] = pa.Field(unique=True)
    india_vix: Series[float] = pa.Field(**_ge(0.0))
    india_vix_change_1w: Series[float] = pa.Field(**_ge(-1.0))
    fii_flow_norm: Series[float] = pa.Field(**_between(-FLOW_CLIP, FLOW_CLIP))
    dii_flow_norm: Series[float] = pa.Field(**_between(-FLOW_CLIP, FLOW_CLIP))
    pcr_index: Series[float] = pa.Field(**_ge(0.0))
    usd_inr_momentum: Series[float] = pa.Field(**_ge(-1.0))
    crude_regime: Series[float] = pa.Field(**_ge(-1.0))
    rbi_rate: Series[float]
    credit_spread: Series[float]
    yield_curve_slope: Series[float]
    nifty_return_4w: Series[float] = pa.Field(**_ge(-1.0))
    nifty_volatility_4w: Series[float] = pa.Field(**_ge(0.0))
    breadth_advance_decline: Series[float] = pa.Field(**_between(-1.0, 1.0))
    fno_oi_change: Series[float] = pa.Field(**_ge(-1.0))
    event_risk_flag: Series[float] = pa.Field(isin=[0.0, 1.0])
    days_to_next_event: Series[float] = pa.Field(**_between(0.0, EVENT_HORIZON_DAYS))
    regime_label_prev: Series[float] = pa.Field(isin=[-1.0, 0.0, 1.0])

    @pa.check("rbi_rate", "credit_spread", "yield_curve_slope", name="finite")
    @classmethod
    def _finite(cls, series: pd.Series) -> pd.Series:
        return _finite(series)

    class Config:
        strict = True


class _PerSectorSchema(pa.DataFrameModel):
    """The key columns of a table keyed by (date, sector); each subclass declares its own named key check (pandera
    0.35 drops an inherited check's name in all but the first subclass that builds its schema)."""

    date: Series[pd.Timestamp]
    sector: Series[str]

    class Config:
        strict = True


class SectorReturnsSchema(_PerSectorSchema):
    equal_weighted: Series[float] = pa.Field(**_ge(-1.0))
    cap_weighted: Series[float] = pa.Field(**_ge(-1.0))
    n_stocks: Series[np.int32] = pa.Field(ge=0)

    @pa.dataframe_check(name="unique_key(date, sector)")
    @classmethod
    def _unique(cls, df: pd.DataFrame) -> pd.Series:
        return _unique_key(df, "sector")


class SectorFeaturesSchema(_PerSectorSchema):
    sentiment_1w: Series[float] = pa.Field(ge=-1.0, le=1.0)

    @pa.dataframe_check(name="unique_key(date, sector)")
    @classmethod
    def _unique(cls, df: pd.DataFrame) -> pd.Series:
        return _unique_key(df, "sector")


class BenchmarkReturnsSchema(pa.DataFrameModel):
    date: Series[pd.Timestamp] = pa.Field(unique=True)
    level: Series[float] = pa.Field(gt=0.0, nullable=True)
    return_1d: Series[float] = pa.Field(**_ge(-1.0))

    class Config:
        strict = True


class RegimeLabelsSchema(pa.DataFrameModel):
    """LABEL table: realised regime of the trailing week ending at each date."""

    date: Series[pd.Timestamp] = pa.Field(unique=True)
    weekly_return: Series[float] = pa.Field(**_ge(-1.0))
    regime: Series[str] = pa.Field(isin=list(REGIMES))
    regime_code: Series[np.int32] = pa.Field(isin=list(range(N_REGIMES)))
    week_end: Series[bool]

    @pa.dataframe_check(name="regime_matches_code")
    @classmethod
    def _consistent(cls, df: pd.DataFrame) -> pd.Series:
        names = np.array(REGIMES, dtype=object)
        return pd.Series(
            names[df["regime_code"].to_numpy().clip(0, N_REGIMES - 1)] == df["regime"].to_numpy(), index=df.index
        )

    class Config:
        strict = True


class StockLabelsSchema(pa.DataFrameModel):
    """LABEL table: forward returns (NaN past the end of the data or where the stock is not listed)."""

    date: Series[pd.Timestamp]
    stock_index: Series[np.int32] = pa.Field(ge=0)
    forward_return: Series[float] = pa.Field(**_ge(-1.0), nullable=True)

    @pa.dataframe_check(name="unique_key(date, stock_index)")
    @classmethod
    def _unique(cls, df: pd.DataFrame) -> pd.Series:
        return _unique_key(df, "stock_index")

    class Config:
        strict = True


FEATURE_SCHEMAS: dict[str, type[pa.DataFrameModel]] = {
    "feature_build_stocks": FeatureBuildStocksSchema,
    "stock_features": StockFeaturesSchema,
    "stock_panel": StockPanelSchema,
    "macro_features": MacroFeaturesSchema,
    "sector_returns": SectorReturnsSchema,
    "sector_features": SectorFeaturesSchema,
    "benchmark_returns": BenchmarkReturnsSchema,
    "regime_labels": RegimeLabelsSchema,
    "stock_labels": StockLabelsSchema,
}


def validate_feature_frame(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Validate one frame lazily; raise :class:`FeatureValidationError` naming every failing column and check."""
    try:
        return FEATURE_SCHEMAS[table].validate(frame, lazy=True, inplace=True)
    except SchemaErrors as exc:
        raise FeatureValidationError(table, exc.failure_cases) from None


def validate_feature_frames(frames: dict[str, pd.DataFrame]) -> None:
    """Validate every frame of a build (keys are table names)."""
    for table, frame in frames.items():
        validate_feature_frame(table, frame)
