"""Load a feature build from the warehouse into :class:`~hrl_sarp.features.arrays.FeatureArrays`.

All dimensions come from the build: T dates (after warm-up), N stocks (sorted symbols), S sectors (sorted), F stock
features, M macro features, W weeks. Rows are placed by date and stock index, so the result does not depend on
the order in which the warehouse returns rows.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import numpy as np

from hrl_sarp import warehouse as wh
from hrl_sarp.errors import WarehouseStateError
from hrl_sarp.features.arrays import FeatureArrays
from hrl_sarp.features.spec import SECTOR_FEATURES


def latest_build_id(con: duckdb.DuckDBPyConnection) -> str:
    """Id of the most recently written complete feature build."""
    if not wh.table_exists(con, "feature_builds"):
        raise WarehouseStateError("warehouse has no feature builds: run `hrl-sarp features` first")
    row = wh.fetch_one(
        con, "SELECT build_id FROM feature_builds WHERE status = 'complete' ORDER BY created_at DESC LIMIT 1"
    )
    if not row:
        raise WarehouseStateError("warehouse has no complete feature build: run `hrl-sarp features` first")
    return str(row[0])


def _fetch(con: duckdb.DuckDBPyConnection, sql: str, build_id: str) -> dict[str, np.ndarray]:
    out = {}
    for key, value in con.execute(sql, [build_id]).fetchnumpy().items():
        if np.ma.isMaskedArray(value):
            value = np.ma.filled(value.astype(np.float64), np.nan) if value.dtype.kind in "fiu" else value.data
        out[key] = np.asarray(value)
    return out


def _grid(
    rows: np.ndarray, cols: np.ndarray, values: np.ndarray, shape: tuple[int, int], fill: float | bool = np.nan
) -> np.ndarray:
    dtype = bool if isinstance(fill, bool) else np.float64
    out = np.full(shape, fill, dtype=dtype)
    out[rows, cols] = values
    return out


def load_feature_arrays(con: duckdb.DuckDBPyConnection, build_id: str | None = None) -> FeatureArrays:
    """The arrays of ``build_id`` (default: the latest complete build). Point in time: row t of every array
    except ``forward_returns`` (a label) uses only data known at the close of ``dates[t]``."""
    build_id = build_id or latest_build_id(con)
    meta = con.execute(
        "SELECT stock_feature_names, macro_feature_names, n_dates, n_stocks FROM feature_builds "
        "WHERE build_id = ? AND status = 'complete'",
        [build_id],
    ).fetchall()
    if not meta:
        raise WarehouseStateError(f"feature build '{build_id}' not found or incomplete: run `hrl-sarp features`")
    stock_names = tuple(meta[0][0].split(","))
    macro_names = tuple(meta[0][1].split(","))

    stocks = _fetch(
        con,
        "SELECT stock_index, symbol, sector, sector_index FROM feature_build_stocks WHERE build_id = ? "
        "ORDER BY stock_index",
        build_id,
    )
    regimes = _fetch(
        con, "SELECT date, regime_code, week_end FROM regime_labels WHERE build_id = ? ORDER BY date", build_id
    )
    dates = regimes["date"].astype("datetime64[D]")
    T, N = len(dates), len(stocks["symbol"])
    sectors = np.array(sorted(set(stocks["sector"].astype(str))), dtype=str)
    S = len(sectors)

    def date_rows(values: np.ndarray) -> np.ndarray:
        return np.searchsorted(dates, values.astype("datetime64[D]"))

    feat = _fetch(
        con, f"SELECT date, stock_index, {', '.join(stock_names)} FROM stock_features WHERE build_id = ?", build_id
    )
    flat = date_rows(feat["date"]) * N + feat["stock_index"].astype(np.int64)
    stacked = np.empty((len(flat), len(stock_names)))
    for k, name in enumerate(stock_names):
        stacked[:, k] = feat[name]
    if not np.array_equal(flat, np.arange(T * N)):  # rows usually come back in write order; place them if not
        placed = np.empty_like(stacked)
        placed[flat] = stacked
        stacked = placed
    stock_features = stacked.reshape(T, N, len(stock_names))

    panel = _fetch(
        con,
        "SELECT date, stock_index, close, open, stock_return, adv_value, tradable FROM stock_panel WHERE build_id = ?",
        build_id,
    )
    pr, pc = date_rows(panel["date"]), panel["stock_index"].astype(np.int64)
    labels = _fetch(con, "SELECT date, stock_index, forward_return FROM stock_labels WHERE build_id = ?", build_id)
    lr, lc = date_rows(labels["date"]), labels["stock_index"].astype(np.int64)

    macro = _fetch(con, f"SELECT date, {', '.join(macro_names)} FROM macro_features WHERE build_id = ?", build_id)
    mr = date_rows(macro["date"])
    macro_arr = np.empty((T, len(macro_names)))
    for k, name in enumerate(macro_names):
        macro_arr[mr, k] = macro[name]

    sec = _fetch(
        con, "SELECT date, sector, equal_weighted, cap_weighted FROM sector_returns WHERE build_id = ?", build_id
    )
    sr, sc = date_rows(sec["date"]), np.searchsorted(sectors, sec["sector"].astype(str))
    sector_features, sector_names = _sector_features(con, build_id, date_rows, sectors, T)
    bench = _fetch(con, "SELECT date, return_1d FROM benchmark_returns WHERE build_id = ?", build_id)
    bench_ret = np.zeros(T)
    bench_ret[date_rows(bench["date"])] = bench["return_1d"]

    return FeatureArrays(
        build_id=build_id,
        dates=dates,
        symbols=stocks["symbol"].astype(str),
        sectors=sectors,
        stock_sector=np.searchsorted(sectors, stocks["sector"].astype(str)).astype(np.int64),
        stock_features=stock_features,
        stock_feature_names=stock_names,
        macro=macro_arr,
        macro_names=macro_names,
        close=_grid(pr, pc, panel["close"], (T, N)),
        open=_grid(pr, pc, panel["open"], (T, N)),
        stock_returns=_grid(pr, pc, panel["stock_return"], (T, N), 0.0),
        tradable=_grid(pr, pc, panel["tradable"].astype(bool), (T, N), False),
        adv_value=_grid(pr, pc, panel["adv_value"], (T, N)),
        sector_returns=_grid(sr, sc, sec["equal_weighted"], (T, S), 0.0),
        sector_returns_cap=_grid(sr, sc, sec["cap_weighted"], (T, S), 0.0),
        benchmark_returns=bench_ret,
        regime_labels=regimes["regime_code"].astype(np.int64),
        week_end_index=np.flatnonzero(regimes["week_end"].astype(bool)).astype(np.int64),
        forward_returns=_grid(lr, lc, labels["forward_return"], (T, N)),
        sector_features=sector_features,
        sector_feature_names=sector_names,
    )


def _sector_features(
    con: duckdb.DuckDBPyConnection,
    build_id: str,
    date_rows: Callable[[np.ndarray], np.ndarray],
    sectors: np.ndarray,
    n_dates: int,
) -> tuple[np.ndarray | None, tuple[str, ...]]:
    """(T, S, G) sector features of the build and their names; (None, ()) for a build written without them."""
    if not wh.table_exists(con, "sector_features"):
        return None, ()
    names = SECTOR_FEATURES
    rows = _fetch(con, f"SELECT date, sector, {', '.join(names)} FROM sector_features WHERE build_id = ?", build_id)
    if len(rows["date"]) == 0:
        return None, ()
    r, c = date_rows(rows["date"]), np.searchsorted(sectors, rows["sector"].astype(str))
    out = np.zeros((n_dates, len(sectors), len(names)))
    for k, name in enumerate(names):
        out[r, c, k] = rows[name]
    return out, names


def forward_sector_returns(arrays: FeatureArrays, horizon: int) -> np.ndarray:
    """LABEL (T, S): equal-weighted sector return compounded over the next ``horizon`` sessions (t+1..t+h);
    NaN past the end. For weekly sector labels take rows ``arrays.week_end_index`` with ``horizon=5``."""
    growth = np.cumprod(1.0 + arrays.sector_returns, axis=0)
    T = arrays.n_dates
    out = np.full(growth.shape, np.nan)
    if horizon < T:
        out[: T - horizon] = growth[horizon:] / growth[: T - horizon] - 1.0
    return out
