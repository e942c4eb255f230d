"""The point-in-time feature build: raw warehouse tables -> validated feature tables under one build id.

Set work runs in DuckDB SQL (``warehouse/sql/features/*.sql``): the trading calendar and universe, the
point-in-time selection of fundamentals releases (window functions) and their ASOF join by ``available_at``, the
ASOF join of macro series by publication lag, and the aggregation of per-stock returns into sector returns.
Time-series indicators and the per-date cross-sectional statistics (z-scores, medians, sector means) run as NumPy
over (dates x symbols) matrices (:mod:`hrl_sarp.features.indicators`): one row of the matrix is one date's
cross-section, and a dense SQL window over the 1.25M-row panel cost several times more. Every value at date t uses
data known at or before t; forward returns and realised regimes are labels, written to separate tables.

Shapes: T trading dates of the full calendar (before the warm-up rows are dropped), N stocks (sorted symbols),
S sectors (sorted names), K macro series.

Progress (:func:`build_features`): a tqdm bar over the seven stages when stderr is a terminal, otherwise one INFO
line per stage on logger ``hrl_sarp.features.build`` (``features 3/7 indicators: 2.31 s``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from hrl_sarp import warehouse as wh
from hrl_sarp.config import REPO_ROOT, Config
from hrl_sarp.data.benchmark import BenchmarkChoice, choose_benchmark
from hrl_sarp.domain import (
    EVENT_HORIZON_DAYS,
    FLOW_CLIP,
    FUNDAMENTAL_FIELDS,
    MACRO_SERIES,
    REGIME_CODES,
    SURPRISE_CLIP,
    Z_CLIP,
)
from hrl_sarp.errors import WarehouseStateError
from hrl_sarp.features import indicators as ind
from hrl_sarp.features.coverage import coverage_report, write_coverage
from hrl_sarp.features.spec import (
    EVENT_RISK_DAYS,
    FEATURE_VERSION,
    MACRO_FEATURE_SPECS,
    MACRO_FEATURES,
    SECTOR_FEATURE_SPECS,
    SECTOR_FEATURES,
    SENTIMENT_WINDOW_DAYS,
    STOCK_FEATURE_SPECS,
    STOCK_FEATURES,
    FeatureSpec,
)
from hrl_sarp.logs import progress_bar

SQL_DIR = REPO_ROOT / "warehouse" / "sql" / "features"
# The stages _build reports, in order (each one's seconds land in BuildSummary.stage_seconds).
BUILD_STAGES = ("snapshot", "sql", "indicators", "sectors", "frames", "validate", "write")
log = logging.getLogger(__name__)
FEATURE_TABLES = (
    "feature_build_stocks",
    "stock_features",
    "stock_panel",
    "macro_features",
    "sector_returns",
    "sector_features",
    "benchmark_returns",
    "regime_labels",
    "stock_labels",
)
# Per-stock state carried from fundamentals releases (raw fields plus two derived in 03_fundamentals.sql).
FUNDAMENTAL_STATE = (*FUNDAMENTAL_FIELDS, "fii_holding_change", "earnings_surprise")


@dataclass(frozen=True)
class BuildSummary:
    """What a build produced (or found already complete, ``skipped=True``)."""

    build_id: str
    snapshot: str
    config_hash: str
    skipped: bool
    n_dates: int
    n_stocks: int
    n_sectors: int
    n_stock_features: int
    n_macro_features: int
    first_date: str
    last_date: str
    rows: dict[str, int]
    coverage_path: str | None
    benchmark_source: str
    seconds: float
    benchmark: str = ""  # which benchmark was used and why, one line (hrl_sarp.data.benchmark)
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class MarketInputs:
    """Raw data on the full trading calendar, addressed by (date row, stock column); NaN where unknown."""

    dates: np.ndarray  # (T,) datetime64[D]
    symbols: np.ndarray  # (N,) str
    sectors: np.ndarray  # (S,) str
    stock_sector: np.ndarray  # (N,) int64
    listed: np.ndarray  # (T, N) bool: inside the listing window and on/after the first price
    priced: np.ndarray  # (T, N) bool: a price row exists
    close: np.ndarray  # (T, N)
    open: np.ndarray  # (T, N) close where the source has no open
    adj_close: np.ndarray  # (T, N) adj_close, else close
    volume: np.ndarray  # (T, N)
    delivery_pct: np.ndarray  # (T, N)
    fundamentals: dict[str, np.ndarray]  # FUNDAMENTAL_STATE -> (T, N) latest released value known at t
    macro: dict[str, np.ndarray]  # series -> (T,) latest value known at t (NaN before the first)
    benchmark: BenchmarkChoice  # the index used (symbol None: none, the equal-weighted stocks stand in) and why
    benchmark_level: np.ndarray | None  # (T,) index close, None when the index is absent
    event_dates: np.ndarray  # (E,) datetime64[D], sorted
    sentiment_total: np.ndarray  # (T, S) sum of the sector sentiment observations that become known at t
    sentiment_count: np.ndarray  # (T, S) how many become known at t
    sources: dict[str, bool] = field(default_factory=dict)  # "prices.volume" -> present in the data
    sentiment_unmatched: dict[str, int] = field(default_factory=dict)  # sector without stocks -> rows left out


@dataclass
class ComputedFeatures:
    """Everything the build writes, on the full calendar; :func:`build_frames` drops the warm-up rows."""

    stock_features: dict[str, np.ndarray]  # name -> (T, N), neutral-filled
    macro_features: dict[str, np.ndarray]  # name -> (T,), neutral-filled
    sector_features: dict[str, np.ndarray]  # name -> (T, S), neutral-filled
    neutral_share: dict[str, float]  # feature -> share of listed cells (after warm-up) that were neutral-filled
    close: np.ndarray  # (T, N) NaN where not priced
    open: np.ndarray  # (T, N)
    stock_returns: np.ndarray  # (T, N) 0 where unknown
    valid_returns: np.ndarray  # (T, N) bool
    cap_prev: np.ndarray  # (T, N) market cap at t-1 (neutral-filled), the sector weights
    adv_value: np.ndarray  # (T, N)
    tradable: np.ndarray  # (T, N) bool
    benchmark_level: np.ndarray  # (T,)
    benchmark_returns: np.ndarray  # (T,)
    benchmark_source: str
    weekly_return: np.ndarray  # (T,)
    regime_code: np.ndarray  # (T,) int
    week_end: np.ndarray  # (T,) bool
    forward_returns: np.ndarray  # (T, N) LABEL


def feature_config_hash(cfg: Config) -> str:
    """Hash of the configuration the features depend on (not the whole run config, so training knobs do not
    invalidate a feature build)."""
    relevant = {
        "version": FEATURE_VERSION,
        "features": cfg.features.model_dump(mode="json"),
        "benchmark": cfg.data.benchmark,
        "start": str(cfg.data.start),
        "end": str(cfg.data.end),
        "adv_window_days": cfg.risk.adv_window_days,
        "min_adv_value": cfg.risk.min_adv_value,
    }
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]


def make_build_id(config_hash: str, snapshot: str) -> str:
    return f"fb-{config_hash[:10]}-{snapshot[:10]}"


# --------------------------------------------------------------------------------------------------- SQL stage
def _sql(name: str, **subs: str) -> str:
    text = (SQL_DIR / name).read_text()
    for key, value in subs.items():
        text = text.replace("{" + key + "}", value)
    return text


def _date_literal(value: dt.date | None, default: str) -> str:
    return f"DATE '{value.isoformat()}'" if value is not None else f"DATE '{default}'"


def _quoted(names: list[str] | tuple[str, ...]) -> str:
    return ", ".join("'" + n.replace("'", "''") + "'" for n in names)


def _scatter(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(K,) values at (row, col) positions -> (T, N) float matrix, NaN elsewhere."""
    out = np.full(shape, np.nan)
    out[rows, cols] = values
    return out


def _numpy(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> dict[str, np.ndarray]:
    """Run a query and return its columns as NumPy arrays (NULL -> NaN in float columns)."""
    out = {}
    for key, value in con.execute(sql, params).fetchnumpy().items():
        if np.ma.isMaskedArray(value):
            value = np.ma.filled(value.astype(np.float64), np.nan) if value.dtype.kind == "f" else value.data
        out[key] = np.asarray(value)
    return out


def load_inputs(con: duckdb.DuckDBPyConnection, cfg: Config) -> MarketInputs:
    """Run the SQL stage and return the raw inputs as (T, N) matrices on the trading calendar."""
    if not wh.table_exists(con, "prices"):
        raise WarehouseStateError("warehouse has no raw tables: run `hrl-sarp ingest` first")
    start = _date_literal(cfg.data.start, "0001-01-01")
    end = _date_literal(cfg.data.end, "9999-12-31")
    for statement in _sql("01_universe.sql", start=start, end=end).split(";"):
        if statement.strip():
            wh.execute(con, statement)
    calendar = con.execute("SELECT date FROM _fb_calendar ORDER BY date_index").fetchnumpy()["date"]
    dates = np.asarray(calendar).astype("datetime64[D]")
    stocks = con.execute(
        "SELECT symbol, sector, sector_index, listed_on, delisted_on FROM _fb_stocks ORDER BY stock_index"
    ).df()
    if len(dates) == 0 or stocks.empty:
        raise WarehouseStateError("warehouse has no stock prices in the configured date range: run ingestion first")
    T, N = len(dates), len(stocks)
    symbols = stocks["symbol"].to_numpy(dtype=str)
    sectors = np.array(sorted(stocks["sector"].unique()), dtype=str)
    stock_sector = stocks["sector_index"].to_numpy(dtype=np.int64)

    px = _numpy(con, _sql("02_prices.sql"))
    r, c = px["date_index"].astype(np.int64), px["stock_index"].astype(np.int64)
    priced = np.zeros((T, N), dtype=bool)
    priced[r, c] = True
    close = _scatter(r, c, px["close"], (T, N))
    open_ = _scatter(r, c, px["open"], (T, N))
    open_ = np.where(np.isfinite(open_), open_, close)
    adj = _scatter(r, c, px["adj_close"], (T, N))
    volume = _scatter(r, c, px["volume"], (T, N))
    delivery = _scatter(r, c, px["delivery_pct"], (T, N))

    listed_on = pd.to_datetime(stocks["listed_on"]).to_numpy().astype("datetime64[D]")
    delisted_on = pd.to_datetime(stocks["delisted_on"]).to_numpy().astype("datetime64[D]")
    d = dates[:, None]
    window = (np.isnat(listed_on)[None, :] | (d >= listed_on[None, :])) & (
        np.isnat(delisted_on)[None, :] | (d <= delisted_on[None, :])
    )
    listed = window & np.maximum.accumulate(priced, axis=0)

    fundamentals = _load_fundamentals(con, (T, N))
    macro = _load_macro(con, cfg, T)
    index_rows = con.execute(
        "SELECT symbol, sector FROM securities s WHERE kind = 'index' "
        "AND EXISTS (SELECT 1 FROM prices p JOIN _fb_calendar c USING (date) WHERE p.symbol = s.symbol)"
    ).fetchall()
    choice = choose_benchmark(cfg.data.benchmark, dict(index_rows), {str(s) for s in sectors})
    benchmark_level = None
    if choice.symbol is not None:
        bench_rows = _numpy(
            con,
            "SELECT c.date_index, p.close FROM prices p JOIN _fb_calendar c USING (date) WHERE p.symbol = ?",
            [choice.symbol],
        )
        benchmark_level = np.full(T, np.nan)
        benchmark_level[bench_rows["date_index"].astype(np.int64)] = bench_rows["close"]
    events = con.execute("SELECT DISTINCT date FROM events ORDER BY date").fetchnumpy()["date"]
    sentiment = _numpy(con, _sql("06_sentiment.sql"))
    S = len(sectors)
    sr, sc = sentiment["date_index"].astype(np.int64), sentiment["sector_index"].astype(np.int64)
    sentiment_total = np.zeros((T, S))
    sentiment_count = np.zeros((T, S))
    sentiment_total[sr, sc] = sentiment["total"]
    sentiment_count[sr, sc] = sentiment["n"]
    sources = _source_presence(con, has_events=len(events) > 0, has_benchmark=benchmark_level is not None)
    sources["sentiment"] = bool(sentiment_count.any())
    unmatched = con.execute(
        "SELECT sector, count(*) FROM sentiment WHERE sector NOT IN (SELECT DISTINCT sector FROM _fb_stocks) "
        "GROUP BY sector ORDER BY sector"
    ).fetchall()
    return MarketInputs(
        dates=dates,
        symbols=symbols,
        sectors=sectors,
        stock_sector=stock_sector,
        listed=listed,
        priced=priced,
        close=close,
        open=open_,
        adj_close=adj,
        volume=volume,
        delivery_pct=delivery,
        fundamentals=fundamentals,
        macro=macro,
        benchmark=choice,
        benchmark_level=benchmark_level,
        event_dates=np.asarray(events).astype("datetime64[D]"),
        sentiment_total=sentiment_total,
        sentiment_count=sentiment_count,
        sources=sources,
        sentiment_unmatched={str(sector): int(n) for sector, n in unmatched},
    )


def _load_fundamentals(con: duckdb.DuckDBPyConnection, shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """FUNDAMENTAL_STATE -> (T, N) latest released value known at each date (03_fundamentals.sql)."""
    pivot = ", ".join(
        f"coalesce(arg_max(value, period_end) FILTER (WHERE field = '{f}'), 'NaN'::DOUBLE) AS {f}"
        for f in FUNDAMENTAL_STATE
    )
    fund = _numpy(con, _sql("03_fundamentals.sql", fields=_quoted(FUNDAMENTAL_FIELDS), pivot=pivot))
    rows, cols = fund["date_index"].astype(np.int64), fund["stock_index"].astype(np.int64)
    # Releases sit on their first trading date; carrying each forward gives the state known at every date.
    return {name: ind.forward_fill(_scatter(rows, cols, fund[name], shape)) for name in FUNDAMENTAL_STATE}


def _load_macro(con: duckdb.DuckDBPyConnection, cfg: Config, n_dates: int) -> dict[str, np.ndarray]:
    """Series -> (T,) newest value known at each date under the publication lags (04_macro.sql)."""
    lags = pd.DataFrame(
        {
            "series": list(cfg.features.macro_publication_lag_days),
            "lag_days": [int(v) for v in cfg.features.macro_publication_lag_days.values()],
        }
    ).astype({"series": str, "lag_days": "int64"})
    sql = _sql("04_macro.sql", default_lag=str(int(cfg.features.default_macro_lag_days)), series=_quoted(MACRO_SERIES))
    con.register("_fb_macro_lags", lags)
    try:
        mac = _numpy(con, sql)
    finally:
        con.unregister("_fb_macro_lags")
    macro: dict[str, np.ndarray] = {}
    for series in np.unique(mac["series"]).astype(str):
        sel = mac["series"] == series
        values = np.full(n_dates, np.nan)
        values[mac["date_index"][sel].astype(np.int64)] = mac["value"][sel]
        macro[series] = values
    return macro


def _source_presence(con: duckdb.DuckDBPyConnection, has_events: bool, has_benchmark: bool) -> dict[str, bool]:
    """Which raw inputs the data has at all (for the coverage report)."""
    present = wh.fetch_one(
        con,
        "SELECT count(volume), count(delivery_pct), count(adj_close), count(open) FROM prices "
        "WHERE symbol IN (SELECT symbol FROM _fb_stocks)",
    )
    fund_fields = {row[0] for row in con.execute("SELECT DISTINCT field FROM fundamentals").fetchall()}
    macro_series = {row[0] for row in con.execute("SELECT DISTINCT series FROM macro").fetchall()}
    return {
        "prices.close": True,
        "prices.volume": bool(present[0]),
        "prices.delivery_pct": bool(present[1]),
        "prices.adj_close": bool(present[2]),
        "prices.open": bool(present[3]),
        "securities.sector": True,
        "events": has_events,
        "benchmark": has_benchmark,
        **{f"fundamentals.{f}": f in fund_fields for f in FUNDAMENTAL_FIELDS},
        **{f"macro.{s}": s in macro_series for s in MACRO_SERIES},
    }


# ------------------------------------------------------------------------------------------------- NumPy stage
def _neutral_fill(
    x: np.ndarray, spec: FeatureSpec, listed: np.ndarray, listed_cells: int, warmup: int
) -> tuple[np.ndarray, float]:
    """(T, N) raw feature -> (neutral-filled copy, share of listed cells after warm-up that were filled).

    Cells of unlisted stocks are always neutral (they are not tradable); non-finite values count as unknown.
    ``listed_cells`` is ``listed[warmup:].sum()``.
    """
    known = np.isfinite(x)
    known &= listed
    if spec.neutral == "zero":
        fill: np.ndarray | float = 0.0
    elif spec.neutral == "median":
        fill = ind.row_nanmedian(np.where(known, x, np.nan), spec.fallback)[:, None]
    else:
        fill = float(spec.neutral)
    share = 1.0 - float(np.count_nonzero(known[warmup:])) / max(listed_cells, 1)
    return np.where(known, x, fill), share


def _fill_series(x: np.ndarray, spec: FeatureSpec, warmup: int) -> tuple[np.ndarray, float]:
    """(T, ...) series -> (neutral-filled copy, share of cells after warm-up that were filled)."""
    known = np.isfinite(x)
    fill = 0.0 if spec.neutral in ("zero", "median") else float(spec.neutral)
    return np.where(known, x, fill), float((~known[warmup:]).mean()) if len(x) > warmup else 1.0


def _sentiment_mean(total: np.ndarray, count: np.ndarray) -> np.ndarray:
    """(T, S) mean of the sentiment observations that became known over the last SENTIMENT_WINDOW_DAYS sessions
    through t; NaN where none did."""
    n = ind.trailing_sum(count, SENTIMENT_WINDOW_DAYS)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, ind.trailing_sum(total, SENTIMENT_WINDOW_DAYS) / n, np.nan)


def _weekly_return(dates: np.ndarray, level: np.ndarray) -> np.ndarray:
    """(T,) level -> (T,) return from the last close at or before t - 7 calendar days to the close at t."""
    prev = np.searchsorted(dates, dates - np.timedelta64(7, "D"), side="right") - 1
    base = np.where(prev >= 0, level[np.maximum(prev, 0)], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        return level / base - 1.0


def regime_codes(weekly_return: np.ndarray, bull: float, bear: float) -> np.ndarray:
    """(T,) weekly returns -> (T,) codes: 0 Bull (> bull), 1 Bear (< bear), 2 Sideways (else, and unknown)."""
    code = np.full(weekly_return.shape, REGIME_CODES["Sideways"], dtype=np.int64)
    code[weekly_return > bull] = REGIME_CODES["Bull"]
    code[weekly_return < bear] = REGIME_CODES["Bear"]
    return code


def week_end_mask(dates: np.ndarray) -> np.ndarray:
    """(T,) dates -> (T,) bool: the last trading date of each ISO week."""
    iso = pd.DatetimeIndex(dates.astype("datetime64[ns]")).isocalendar()
    key = iso["year"].to_numpy().astype(np.int64) * 100 + iso["week"].to_numpy().astype(np.int64)
    return np.append(key[1:] != key[:-1], True) if len(key) else np.zeros(0, dtype=bool)


def compute_features(inputs: MarketInputs, cfg: Config) -> ComputedFeatures:
    """Pure NumPy: indicators, neutral fills, benchmark, regimes and labels from the SQL-stage inputs."""
    warmup = cfg.features.warmup_days
    T, N = inputs.close.shape
    listed, priced = inputs.listed, inputs.priced
    started = np.maximum.accumulate(priced, axis=0)
    # Indicators run on the adjusted close carried over halts; results outside listing become neutral.
    adj = ind.forward_fill(np.where(priced, inputs.adj_close, np.nan))
    ret1 = ind.simple_return(adj, 1)
    volume = np.where(priced, inputs.volume, np.where(started, 0.0, np.nan))
    with np.errstate(divide="ignore", invalid="ignore"):
        raw: dict[str, np.ndarray] = {
            "return_1d": ret1,
            "return_5d": ind.simple_return(adj, 5),
            "return_20d": ind.simple_return(adj, 20),
            "volatility_20d": ind.volatility(ret1, 20),
            "rsi_14": ind.rsi(adj, 14),
            "macd_signal": ind.macd_histogram(adj) / adj,
            "bb_position": ind.bollinger_position(adj, 20),
            "volume_ratio_20d": ind.volume_ratio(volume, 20),
            "delivery_pct": np.where(priced, inputs.delivery_pct, np.nan),
        }
    raw.update(_fundamental_features(inputs.fundamentals, np.where(priced & listed, inputs.close, np.nan)))
    r20 = np.where(listed, raw["return_20d"], np.nan)
    sector_mean = ind.group_mean(r20, inputs.stock_sector, len(inputs.sectors))
    raw["sector_relative_strength"] = r20 - sector_mean[:, inputs.stock_sector]

    stock_features: dict[str, np.ndarray] = {}
    neutral_share: dict[str, float] = {}
    listed_cells = int(np.count_nonzero(listed[warmup:]))
    for spec in STOCK_FEATURE_SPECS:
        stock_features[spec.name], neutral_share[spec.name] = _neutral_fill(
            raw[spec.name], spec, listed, listed_cells, warmup
        )

    valid = priced & listed & np.isfinite(ret1)
    stock_returns = np.where(valid, ret1, 0.0)
    cap_prev = ind.lag(np.exp(stock_features["market_cap_log"]), 1)
    cap_prev = np.where(np.isfinite(cap_prev) & (cap_prev > 0), cap_prev, 1.0)

    # Benchmark: the index row named in config, or an equal-weighted index of the stocks.
    if inputs.benchmark_level is not None:
        level = ind.forward_fill(inputs.benchmark_level)
        bench_ret = np.nan_to_num(ind.simple_return(level, 1), nan=0.0, posinf=0.0, neginf=0.0)
        source = "index"
    else:
        count = valid.sum(axis=1)
        bench_ret = np.where(count > 0, stock_returns.sum(axis=1) / np.maximum(count, 1), 0.0)
        level = 100.0 * np.cumprod(1.0 + bench_ret)
        source = "equal_weighted_stocks"
    weekly = _weekly_return(inputs.dates, level)
    code = regime_codes(weekly, cfg.features.regime_bull_threshold, cfg.features.regime_bear_threshold)

    macro_raw = _macro_raw(inputs, level, bench_ret, ret1, valid, code)
    macro_features: dict[str, np.ndarray] = {}
    for spec in MACRO_FEATURE_SPECS:
        macro_features[spec.name], neutral_share[spec.name] = _fill_series(macro_raw[spec.name], spec, warmup)

    sector_raw = {"sentiment_1w": _sentiment_mean(inputs.sentiment_total, inputs.sentiment_count)}
    sector_features: dict[str, np.ndarray] = {}
    for spec in SECTOR_FEATURE_SPECS:
        sector_features[spec.name], neutral_share[spec.name] = _fill_series(sector_raw[spec.name], spec, warmup)

    h = cfg.features.forward_horizon_days
    forward = np.full((T, N), np.nan)
    if h < T:
        with np.errstate(divide="ignore", invalid="ignore"):
            forward[: T - h] = adj[h:] / adj[: T - h] - 1.0
    forward[~(priced & listed)] = np.nan

    close_volume = np.where(priced, inputs.close * inputs.volume, np.where(started, 0.0, np.nan))
    adv = ind.rolling_mean(close_volume, cfg.risk.adv_window_days)
    liquid = ~(adv < cfg.risk.min_adv_value) if cfg.risk.min_adv_value > 0 else np.ones((T, N), dtype=bool)
    return ComputedFeatures(
        stock_features=stock_features,
        macro_features=macro_features,
        sector_features=sector_features,
        neutral_share=neutral_share,
        close=np.where(priced, inputs.close, np.nan),
        open=np.where(priced, inputs.open, np.nan),
        stock_returns=stock_returns,
        valid_returns=valid,
        cap_prev=cap_prev,
        adv_value=adv,
        tradable=listed & priced & liquid,
        benchmark_level=level,
        benchmark_returns=bench_ret,
        benchmark_source=source,
        weekly_return=np.nan_to_num(weekly, nan=0.0, posinf=0.0, neginf=0.0),
        regime_code=code,
        week_end=week_end_mask(inputs.dates),
        forward_returns=forward,
    )


def _fundamental_features(state: dict[str, np.ndarray], close: np.ndarray) -> dict[str, np.ndarray]:
    """(T, N) fundamentals state and close (NaN where not priced) -> (T, N) fundamental features before fill.

    Valuation ratios are logs (PE = close / eps, PB = close / book value per share, EV / EBITDA with EV = market
    cap + net debt), defined only where the denominator and EV are positive, then z-scored across stocks per date
    and winsorised at +-Z_CLIP.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        eps, bvps, ebitda = state["eps"], state["book_value_ps"], state["ebitda"]
        cap = close * state["shares_outstanding"]
        ev = cap + np.nan_to_num(state["net_debt"], nan=0.0)
        log_pe = np.where(eps > 0, np.log(close / eps), np.nan)
        log_pb = np.where(bvps > 0, np.log(close / bvps), np.nan)
        log_ev = np.where((ebitda > 0) & (ev > 0), np.log(ev / ebitda), np.nan)
        market_cap_log = np.where(cap > 0, np.log(cap), np.nan)
    return {
        "pe_zscore": ind.cross_sectional_zscore(log_pe, clip=Z_CLIP),
        "pb_zscore": ind.cross_sectional_zscore(log_pb, clip=Z_CLIP),
        "ev_ebitda_zscore": ind.cross_sectional_zscore(log_ev, clip=Z_CLIP),
        "market_cap_log": market_cap_log,
        "earnings_surprise": np.clip(state["earnings_surprise"], -SURPRISE_CLIP, SURPRISE_CLIP),
        "avg_analyst_rating": state["analyst_rating"],
        **{
            name: state[name]
            for name in ("roe", "roce", "debt_to_equity", "promoter_pledge_pct", "free_float_pct", "fii_holding_change")
        },
    }


def _macro_raw(
    inputs: MarketInputs,
    level: np.ndarray,
    bench_ret: np.ndarray,
    ret1: np.ndarray,
    valid: np.ndarray,
    regime_code: np.ndarray,
) -> dict[str, np.ndarray]:
    """(T,) macro features before neutral fill; every input is the value known at t."""
    T = len(inputs.dates)
    nan = np.full(T, np.nan)
    m = inputs.macro

    def series(name: str) -> np.ndarray:
        return m.get(name, nan)

    def flow_norm(flow: np.ndarray) -> np.ndarray:
        std = ind.rolling_std(flow, 60)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.clip(np.where(std > 0, ind.rolling_mean(flow, 5) / std, np.nan), -FLOW_CLIP, FLOW_CLIP)

    adv, dec = series("advances"), series("declines")
    with np.errstate(divide="ignore", invalid="ignore"):
        breadth = np.where((adv >= 0) & (dec >= 0) & (adv + dec > 0), (adv - dec) / (adv + dec), np.nan)
        up = (valid & (ret1 > 0)).sum(axis=1)
        down = (valid & (ret1 < 0)).sum(axis=1)
        from_prices = np.where(valid.sum(axis=1) > 0, (up - down) / np.maximum(valid.sum(axis=1), 1), np.nan)
    breadth = np.where(np.isfinite(breadth), breadth, from_prices)

    ev = inputs.event_dates
    nxt = np.searchsorted(ev, inputs.dates, side="right")
    days = np.full(T, float(EVENT_HORIZON_DAYS))
    has = nxt < len(ev)
    days[has] = (ev[nxt[has]] - inputs.dates[has]).astype("timedelta64[D]").astype(np.float64)
    days = np.minimum(days, EVENT_HORIZON_DAYS)

    # Levels that are shares or prices are used only where positive (ingestion quarantines negative ones; brent
    # may legitimately go negative, when its relative change is undefined); an undefined value becomes neutral.
    def positive(x: np.ndarray) -> np.ndarray:
        return np.where(x > 0, x, np.nan)

    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "india_vix": np.where(series("india_vix") >= 0, series("india_vix"), np.nan),
            "india_vix_change_1w": ind.simple_return(positive(series("india_vix")), 5),
            "fii_flow_norm": flow_norm(series("fii_flow")),
            "dii_flow_norm": flow_norm(series("dii_flow")),
            "pcr_index": np.where(series("pcr") >= 0, series("pcr"), np.nan),
            "usd_inr_momentum": ind.simple_return(positive(series("usd_inr")), 20),
            "crude_regime": positive(series("brent")) / ind.rolling_mean(positive(series("brent")), 60) - 1.0,
            "rbi_rate": series("repo_rate"),
            "credit_spread": series("credit_spread"),
            "yield_curve_slope": series("yield_10y") - series("yield_2y"),
            "nifty_return_4w": ind.simple_return(level, 20),
            "nifty_volatility_4w": ind.volatility(bench_ret, 20),
            "breadth_advance_decline": breadth,
            "fno_oi_change": ind.simple_return(positive(series("fno_oi")), 5),
            # without any scheduled event in the data both are unknown (neutral), not "no event coming"
            "event_risk_flag": (days <= EVENT_RISK_DAYS).astype(np.float64) if len(ev) else nan,
            "days_to_next_event": days if len(ev) else nan,
            "regime_label_prev": np.select(
                [regime_code == REGIME_CODES["Bull"], regime_code == REGIME_CODES["Bear"]], [1.0, -1.0], 0.0
            ),
        }


# ------------------------------------------------------------------------------------------------ frames + write
def _sector_returns(
    con: duckdb.DuckDBPyConnection, computed: ComputedFeatures, n_sectors: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Aggregate per-stock returns into (T, S) equal- and cap-weighted sector returns and (T, S) counts in SQL."""
    T = computed.stock_returns.shape[0]
    r, c = np.nonzero(computed.valid_returns)
    table = pa.table(
        {
            "date_index": r.astype(np.int32),
            "stock_index": c.astype(np.int32),
            "ret": computed.stock_returns[r, c],
            "cap_prev": computed.cap_prev[r, c],
        }
    )
    con.register("_fb_stock_returns", table)
    try:
        out = _numpy(con, _sql("05_sector_returns.sql"))
    finally:
        con.unregister("_fb_stock_returns")
    eq, cap, count = np.zeros((T, n_sectors)), np.zeros((T, n_sectors)), np.zeros((T, n_sectors), dtype=np.int64)
    rows, cols = out["date_index"].astype(np.int64), out["sector_index"].astype(np.int64)
    eq[rows, cols] = out["equal_weighted"]
    cap[rows, cols] = out["cap_weighted"]
    count[rows, cols] = out["n_stocks"]
    return eq, cap, count


def build_frames(
    inputs: MarketInputs,
    computed: ComputedFeatures,
    sector_eq: np.ndarray,
    sector_cap: np.ndarray,
    sector_count: np.ndarray,
    warmup: int,
) -> dict[str, pd.DataFrame]:
    """Long/wide frames of every feature table for the dates after warm-up (without the build_id column)."""
    dates = inputs.dates[warmup:].astype("datetime64[ns]")
    T, N, S = len(dates), len(inputs.symbols), len(inputs.sectors)
    date_col = np.repeat(dates, N)
    stock_col = np.tile(np.arange(N, dtype=np.int32), T)

    def flat(x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(x[warmup:]).reshape(-1)

    stock = {"date": date_col, "stock_index": stock_col}
    stock.update({name: flat(computed.stock_features[name]) for name in STOCK_FEATURES})
    panel = {
        "date": date_col,
        "stock_index": stock_col,
        "close": flat(computed.close),
        "open": flat(computed.open),
        "stock_return": flat(computed.stock_returns),
        "adv_value": flat(computed.adv_value),
        "tradable": flat(computed.tradable),
    }
    macro = {"date": dates, **{name: computed.macro_features[name][warmup:] for name in MACRO_FEATURES}}
    sector_names = np.array(inputs.sectors, dtype=object)
    sectors = {
        "date": np.repeat(dates, S),
        "sector": np.tile(sector_names, T),
        "equal_weighted": sector_eq[warmup:].reshape(-1),
        "cap_weighted": sector_cap[warmup:].reshape(-1),
        "n_stocks": sector_count[warmup:].reshape(-1).astype(np.int32),
    }
    sector_inputs = {
        "date": sectors["date"],
        "sector": sectors["sector"],
        **{name: computed.sector_features[name][warmup:].reshape(-1) for name in SECTOR_FEATURES},
    }
    names = np.array(list(REGIME_CODES), dtype=object)
    code = computed.regime_code[warmup:]
    regimes = {
        "date": dates,
        "weekly_return": computed.weekly_return[warmup:],
        "regime": names[code],
        "regime_code": code.astype(np.int32),
        "week_end": computed.week_end[warmup:],
    }
    bench = {
        "date": dates,
        "level": computed.benchmark_level[warmup:],
        "return_1d": computed.benchmark_returns[warmup:],
    }
    labels = {"date": date_col, "stock_index": stock_col, "forward_return": flat(computed.forward_returns)}
    stocks = {
        "stock_index": np.arange(N, dtype=np.int32),
        "symbol": np.array(inputs.symbols, dtype=object),
        "sector": sector_names[inputs.stock_sector],
        "sector_index": inputs.stock_sector.astype(np.int32),
    }
    return {
        "feature_build_stocks": pd.DataFrame(stocks, copy=False),
        "stock_features": pd.DataFrame(stock, copy=False),
        "stock_panel": pd.DataFrame(panel, copy=False),
        "macro_features": pd.DataFrame(macro, copy=False),
        "sector_returns": pd.DataFrame(sectors, copy=False),
        "sector_features": pd.DataFrame(sector_inputs, copy=False),
        "benchmark_returns": pd.DataFrame(bench, copy=False),
        "regime_labels": pd.DataFrame(regimes, copy=False),
        "stock_labels": pd.DataFrame(labels, copy=False),
    }


def _report_dir(con: duckdb.DuckDBPyConnection) -> Path:
    rows = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    if rows and rows[0][0]:
        return Path(rows[0][0]).resolve().parent / "reports" / "features"
    return Path(tempfile.gettempdir()) / "hrl_sarp_reports" / "features"


def _summary_from_row(row: dict[str, Any], skipped: bool, seconds: float) -> BuildSummary:
    coverage = json.loads(row["coverage"])
    rows = {t: int(v) for t, v in coverage.get("rows", {}).items()}
    return BuildSummary(
        build_id=row["build_id"],
        snapshot=row["snapshot"],
        config_hash=row["config_hash"],
        skipped=skipped,
        n_dates=int(row["n_dates"]),
        n_stocks=int(row["n_stocks"]),
        n_sectors=int(row["n_sectors"]),
        n_stock_features=len(row["stock_feature_names"].split(",")),
        n_macro_features=len(row["macro_feature_names"].split(",")),
        first_date=str(row["first_date"]),
        last_date=str(row["last_date"]),
        rows=rows,
        coverage_path=row["coverage_path"],
        benchmark_source=row["benchmark_source"],
        seconds=seconds,
        benchmark=chosen_benchmark(row),
    )


def chosen_benchmark(row: dict[str, Any]) -> str:
    """Which benchmark a ``feature_builds`` row used and why, one line (builds before the record: its symbol)."""
    chosen = json.loads(row["coverage"]).get("benchmark", {}).get("chosen")
    return chosen or row["benchmark"] or "unknown (feature build predates the benchmark record)"


def find_build(con: duckdb.DuckDBPyConnection, build_id: str) -> dict[str, Any] | None:
    """The feature_builds row of a complete build, or None."""
    if not wh.table_exists(con, "feature_builds"):
        return None
    frame = con.execute("SELECT * FROM feature_builds WHERE build_id = ? AND status = 'complete'", [build_id]).df()
    return None if frame.empty else frame.iloc[0].to_dict()


def build_features(
    con: duckdb.DuckDBPyConnection, cfg: Config, progress: bool = False, report_dir: str | Path | None = None
) -> BuildSummary:
    """Build, validate and write the feature tables for the current data and config, in one transaction.

    Idempotent: when a complete build with the same id (feature-config hash + data snapshot hash) exists, nothing
    is recomputed and the summary says ``skipped=True``. The coverage report is written as JSON under
    ``report_dir`` (default: ``reports/features/`` next to the warehouse file). ``progress``: a bar when stderr is a
    terminal; without one each stage is logged.
    """
    started = time.perf_counter()
    wh.migrate(con)
    snapshot = wh.latest_snapshot(con)
    config_hash = feature_config_hash(cfg)
    build_id = make_build_id(config_hash, snapshot)
    existing = find_build(con, build_id)
    if existing is not None:
        log.info("features: build %s is complete already, nothing to do", build_id)
        return _summary_from_row(existing, skipped=True, seconds=time.perf_counter() - started)
    log.info("features: building %s", build_id)

    bar = progress_bar(progress, total=len(BUILD_STAGES), desc="build-features", unit="step", leave=False)
    try:
        return _build(con, cfg, build_id, snapshot, config_hash, started, bar, report_dir)
    finally:
        if bar is not None:
            bar.close()
        for temp in ("_fb_calendar", "_fb_stocks"):
            wh.execute(con, f"DROP TABLE IF EXISTS {temp}")


def _build(
    con: duckdb.DuckDBPyConnection,
    cfg: Config,
    build_id: str,
    snapshot: str,
    config_hash: str,
    started: float,
    bar: Any,
    report_dir: str | Path | None,
) -> BuildSummary:
    from schemas.features import validate_feature_frames  # Pandera lives in schemas/

    stage_seconds: dict[str, float] = {}
    mark = [started]

    def tick(stage: str) -> None:
        now = time.perf_counter()
        stage_seconds[stage] = round(now - mark[0], 4)
        mark[0] = now
        if bar is not None:
            bar.update(1)
        else:
            log.info(
                "features %d/%d %s: %.2f s",
                BUILD_STAGES.index(stage) + 1,
                len(BUILD_STAGES),
                stage,
                stage_seconds[stage],
            )

    warmup = cfg.features.warmup_days
    tick("snapshot")
    inputs = load_inputs(con, cfg)
    tick("sql")
    if len(inputs.dates) <= warmup:
        raise WarehouseStateError(
            f"only {len(inputs.dates)} trading dates in the data; features need more than features.warmup_days={warmup}"
        )
    computed = compute_features(inputs, cfg)
    tick("indicators")
    sector_eq, sector_cap, sector_count = _sector_returns(con, computed, len(inputs.sectors))
    tick("sectors")
    frames = build_frames(inputs, computed, sector_eq, sector_cap, sector_count, warmup)
    tick("frames")
    validate_feature_frames(frames)
    tick("validate")

    rows = {name: len(frame) for name, frame in frames.items()}
    report = coverage_report(inputs, computed, cfg, build_id, snapshot, config_hash, rows)
    out_dir = Path(report_dir) if report_dir is not None else _report_dir(con)
    coverage_path = write_coverage(report, out_dir / f"coverage_{build_id}.json")
    first, last = inputs.dates[warmup], inputs.dates[-1]
    with wh.transaction(con):
        for table in FEATURE_TABLES:
            wh.execute(con, f"DELETE FROM {table} WHERE build_id = ?", [build_id])
        wh.execute(con, "DELETE FROM feature_builds WHERE build_id = ?", [build_id])
        for table, frame in frames.items():
            arrow = pa.Table.from_pandas(frame, preserve_index=False)
            cols = ", ".join(frame.columns)
            con.register("_fb_write", arrow)
            try:
                wh.execute(con, f"INSERT INTO {table} (build_id, {cols}) SELECT ?, {cols} FROM _fb_write", [build_id])
            finally:
                con.unregister("_fb_write")
        seconds = time.perf_counter() - started
        wh.execute(
            con,
            "INSERT INTO feature_builds (build_id, config_hash, snapshot, status, benchmark, benchmark_source, "
            "first_date, last_date, n_dates, n_stocks, n_sectors, stock_feature_names, macro_feature_names, "
            "forward_horizon_days, coverage_path, coverage, seconds) "
            "VALUES (?, ?, ?, 'complete', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                build_id, config_hash, snapshot, inputs.benchmark.symbol or "", computed.benchmark_source,
                str(first), str(last), len(inputs.dates) - warmup, len(inputs.symbols), len(inputs.sectors),
                ",".join(STOCK_FEATURES), ",".join(MACRO_FEATURES), cfg.features.forward_horizon_days,
                str(coverage_path), json.dumps(report, default=str), seconds,
            ],
        )  # fmt: skip
    tick("write")
    return BuildSummary(
        build_id=build_id,
        snapshot=snapshot,
        config_hash=config_hash,
        skipped=False,
        n_dates=len(inputs.dates) - warmup,
        n_stocks=len(inputs.symbols),
        n_sectors=len(inputs.sectors),
        n_stock_features=len(STOCK_FEATURES),
        n_macro_features=len(MACRO_FEATURES),
        first_date=str(first),
        last_date=str(last),
        rows=rows,
        coverage_path=str(coverage_path),
        benchmark_source=computed.benchmark_source,
        seconds=time.perf_counter() - started,
        benchmark=inputs.benchmark.how,
        stage_seconds=stage_seconds,
    )
