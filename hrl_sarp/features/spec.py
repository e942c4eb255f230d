"""Names, neutral values and sources of every feature (the table documented in docs/warehouse.md).

A neutral value is what a (date, stock) cell gets when its inputs are unknown at that date: ``"zero"`` (returns,
z-scores, changes), ``"median"`` (the cross-sectional median of that date among stocks that have a value, or the
fallback constant when none has), or a constant (``rsi_14`` 50, ``bb_position`` 0.5, ``volume_ratio_20d`` 1).
"""

from __future__ import annotations

from dataclasses import dataclass

from hrl_sarp.domain import EVENT_HORIZON_DAYS

FEATURE_VERSION = "2"  # bump when a formula changes: it is part of the feature-build id

EVENT_RISK_DAYS = 7  # event_risk_flag: a scheduled event within the next 7 calendar days


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    neutral: str | float  # "zero" | "median" | constant
    sources: tuple[str, ...]  # raw inputs: "prices.<col>", "fundamentals.<field>", "macro.<series>", ...
    fallback: float = 0.0  # used by "median" when no stock has a value at that date


STOCK_FEATURE_SPECS: tuple[FeatureSpec, ...] = (
    FeatureSpec("return_1d", "zero", ("prices.close",)),
    FeatureSpec("return_5d", "zero", ("prices.close",)),
    FeatureSpec("return_20d", "zero", ("prices.close",)),
    FeatureSpec("volatility_20d", "median", ("prices.close",)),
    FeatureSpec("rsi_14", 50.0, ("prices.close",)),
    FeatureSpec("macd_signal", "zero", ("prices.close",)),
    FeatureSpec("bb_position", 0.5, ("prices.close",)),
    FeatureSpec("volume_ratio_20d", 1.0, ("prices.volume",)),
    FeatureSpec("delivery_pct", "median", ("prices.delivery_pct",)),
    FeatureSpec("pe_zscore", "zero", ("prices.close", "fundamentals.eps")),
    FeatureSpec("pb_zscore", "zero", ("prices.close", "fundamentals.book_value_ps")),
    FeatureSpec("roe", "median", ("fundamentals.roe",)),
    FeatureSpec("roce", "median", ("fundamentals.roce",)),
    FeatureSpec("debt_to_equity", "median", ("fundamentals.debt_to_equity",)),
    FeatureSpec(
        "ev_ebitda_zscore",
        "zero",
        ("prices.close", "fundamentals.shares_outstanding", "fundamentals.ebitda", "fundamentals.net_debt"),
    ),
    FeatureSpec("earnings_surprise", "zero", ("fundamentals.eps", "fundamentals.eps_estimate")),
    FeatureSpec("promoter_pledge_pct", "median", ("fundamentals.promoter_pledge_pct",)),
    FeatureSpec("sector_relative_strength", "zero", ("prices.close", "securities.sector")),
    FeatureSpec("market_cap_log", "median", ("prices.close", "fundamentals.shares_outstanding")),
    FeatureSpec("free_float_pct", "median", ("fundamentals.free_float_pct",)),
    FeatureSpec("fii_holding_change", "zero", ("fundamentals.fii_holding_pct",)),
    FeatureSpec("avg_analyst_rating", "median", ("fundamentals.analyst_rating",)),
)

MACRO_FEATURE_SPECS: tuple[FeatureSpec, ...] = (
    FeatureSpec("india_vix", "zero", ("macro.india_vix",)),
    FeatureSpec("india_vix_change_1w", "zero", ("macro.india_vix",)),
    FeatureSpec("fii_flow_norm", "zero", ("macro.fii_flow",)),
    FeatureSpec("dii_flow_norm", "zero", ("macro.dii_flow",)),
    FeatureSpec("pcr_index", 1.0, ("macro.pcr",)),
    FeatureSpec("usd_inr_momentum", "zero", ("macro.usd_inr",)),
    FeatureSpec("crude_regime", "zero", ("macro.brent",)),
    FeatureSpec("rbi_rate", "zero", ("macro.repo_rate",)),
    FeatureSpec("credit_spread", "zero", ("macro.credit_spread",)),
    FeatureSpec("yield_curve_slope", "zero", ("macro.yield_10y", "macro.yield_2y")),
    FeatureSpec("nifty_return_4w", "zero", ("benchmark",)),
    FeatureSpec("nifty_volatility_4w", "zero", ("benchmark",)),
    FeatureSpec("breadth_advance_decline", "zero", ("macro.advances", "macro.declines")),
    FeatureSpec("fno_oi_change", "zero", ("macro.fno_oi",)),
    FeatureSpec("event_risk_flag", "zero", ("events",)),
    FeatureSpec("days_to_next_event", float(EVENT_HORIZON_DAYS), ("events",)),
    FeatureSpec("regime_label_prev", "zero", ("benchmark",)),
)

# Per (date, sector): the mean of the sector news sentiment that became known over the last SENTIMENT_WINDOW_DAYS
# sessions (neutral 0 where none did, or the data has no sentiment).
SENTIMENT_WINDOW_DAYS = 5
SECTOR_FEATURE_SPECS: tuple[FeatureSpec, ...] = (FeatureSpec("sentiment_1w", "zero", ("sentiment",)),)

STOCK_FEATURES: tuple[str, ...] = tuple(s.name for s in STOCK_FEATURE_SPECS)
SECTOR_FEATURES: tuple[str, ...] = tuple(s.name for s in SECTOR_FEATURE_SPECS)
MACRO_FEATURES: tuple[str, ...] = tuple(s.name for s in MACRO_FEATURE_SPECS)
# Environment-filled member of the 18-dimensional macro state (not built here).
ENVIRONMENT_MACRO_FEATURES: tuple[str, ...] = ("portfolio_drawdown",)
