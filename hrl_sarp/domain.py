"""The vocabulary every layer shares, each fact defined once.

Regimes, the cash position, the trading year, the raw-table contract (columns and natural keys of the tables every
source produces and the warehouse loads), the feature clips that the feature contracts check, the backtest's
metric names, and the closed sets a run is chosen from (profile, data source, graph encoder, training phase,
pipeline stage). Pure constants: the module imports nothing of the project but the base error, so ``schemas/``
depends on this module (and pandera) alone.
"""

from __future__ import annotations

from typing import Literal

from hrl_sarp.errors import HrlSarpError

__all__ = [
    "CASH",
    "EVENT_HORIZON_DAYS",
    "FLOW_CLIP",
    "FUNDAMENTAL_FIELDS",
    "MACRO_SERIES",
    "METRIC_NAMES",
    "N_REGIMES",
    "REGIMES",
    "REGIME_CODES",
    "SURPRISE_CLIP",
    "TABLE_COLUMNS",
    "TABLE_KEYS",
    "TRADING_DAYS_PER_YEAR",
    "Z_CLIP",
    "DataSource",
    "GraphEncoder",
    "HrlSarpError",
    "PipelineStage",
    "Profile",
    "TrainingPhase",
]

# ---------------------------------------------------------------------------------------------------- market
REGIMES: tuple[str, ...] = ("Bull", "Bear", "Sideways")  # a regime's code is its position: 0, 1, 2
REGIME_CODES: dict[str, int] = {name: code for code, name in enumerate(REGIMES)}
N_REGIMES = len(REGIMES)

CASH = "cash"  # the name of the cash position wherever weights are tabled (registry frames, rebalance proposals)

TRADING_DAYS_PER_YEAR = 252  # sessions a year: annualises returns, volatilities and turnover

# ---------------------------------------------------------------------------------------------- run choices
# The closed sets a run is chosen from, as Literal types: the config validates them, the CLI offers them as
# ``choices`` and the flows type their parameters with them (Prefect's run form shows a dropdown).
Profile = Literal["demo", "full"]  # config/<profile>.yaml overlaid on config/default.yaml (the folder must agree)
DataSource = Literal["synthetic", "files", "yfinance"]  # where ``ingest`` reads raw data (hrl_sarp.data.sources)
GraphEncoder = Literal["gcn", "gat"]  # the sector GNN's layer type
TrainingPhase = Literal[1, 2, 3, 4, 5]  # 1 macro and 2 micro pretraining; 3 macro PPO, 4 micro TD3, 5 joint RL
PipelineStage = Literal["ingest", "features", "gnn", "gnn-seeds", "pretrain", "rl", "backtest"]  # train-all order

# ----------------------------------------------------------------------------------------- raw-table contract
# Column layout of each raw table (every source's frames and the warehouse tables, migration 001).
TABLE_COLUMNS: dict[str, list[str]] = {
    "securities": ["symbol", "sector", "name", "kind", "listed_on", "delisted_on"],
    "prices": ["date", "symbol", "open", "high", "low", "close", "adj_close", "volume", "delivery_pct"],
    "macro": ["date", "series", "value", "available_at"],
    "fundamentals": ["symbol", "period_end", "field", "value", "available_at"],
    "sentiment": ["date", "sector", "value", "available_at"],
    "events": ["date", "event"],
}

# Natural keys: one row per key in the warehouse.
TABLE_KEYS: dict[str, list[str]] = {
    "securities": ["symbol"],
    "prices": ["symbol", "date"],
    "macro": ["series", "date"],
    "fundamentals": ["symbol", "period_end", "field"],
    "sentiment": ["sector", "date"],
    "events": ["date", "event"],
}

# Macro series names the feature builder understands (a source may supply any subset).
MACRO_SERIES: list[str] = [
    "india_vix",
    "fii_flow",
    "dii_flow",
    "usd_inr",
    "brent",
    "repo_rate",
    "yield_10y",
    "yield_2y",
    "credit_spread",
    "pcr",
    "fno_oi",
    "advances",
    "declines",
]

# Fundamental fields the feature builder understands (a source may supply any subset).
FUNDAMENTAL_FIELDS: list[str] = [
    "eps",
    "eps_estimate",
    "book_value_ps",
    "roe",
    "roce",
    "debt_to_equity",
    "ebitda",
    "net_debt",
    "shares_outstanding",
    "promoter_pledge_pct",
    "free_float_pct",
    "fii_holding_pct",
    "analyst_rating",
]

# ---------------------------------------------------------------------------------------------- feature clips
Z_CLIP = 4.0  # cross-sectional z-scores are winsorised to +-Z_CLIP
SURPRISE_CLIP = 1.0  # earnings surprise is winsorised to +-100%
FLOW_CLIP = 5.0  # normalised FII/DII flows are winsorised to +-5
EVENT_HORIZON_DAYS = 90  # days_to_next_event is capped here (and is this when no event is scheduled)

# ------------------------------------------------------------------------------------------------- backtest
# The fixed metric names: every backtest run logs exactly these, in this order.
METRIC_NAMES: tuple[str, ...] = (
    "cagr",
    "volatility",
    "sharpe",
    "sortino",
    "calmar",
    "max_drawdown",
    "cvar95",
    "hit_rate",
    "turnover",
    "cost_drag",
    "information_ratio",
    "cash_share",
    "exposure",
)
