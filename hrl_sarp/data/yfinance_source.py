"""The ``yfinance`` source (optional extra ``hrl-sarp[yfinance]``): NSE stocks, the benchmark and macro proxies.

:func:`fetch_yfinance` downloads with ``yf.download(..., group_by="ticker", auto_adjust=False)`` and hands the
frame to :func:`normalise_yfinance`, which is pure and is what the tests exercise on a recorded frame (no network).

Normalisation:

- ``TCS.NS`` (or ``.BO``) -> symbol ``TCS``, a ``stock`` whose sector comes from ``sector_map`` (keys with or
  without the suffix). A stock missing from ``sector_map`` keeps a blank sector, so validation rejects it (and its
  prices) with a reason instead of it vanishing.
- the benchmark ticker (``^NSEI``) -> an ``index`` row named ``benchmark_symbol`` (``NIFTY50``, the config's
  ``data.benchmark``), sector :data:`INDEX_SECTOR`; any other ``^`` ticker -> an index named without the caret.
- macro tickers (:data:`MACRO_TICKERS`): ``^INDIAVIX`` -> ``india_vix``, ``INR=X`` -> ``usd_inr``, ``BZ=F`` ->
  ``brent``; the value is the day's close, ``available_at`` the same date (known at that day's close).
- dates: the frame's index, time zone dropped keeping the exchange's local date, normalised to midnight. Rows
  with no price at all (``yf.download`` unions the calendars of all tickers) are dropped.
- ``close`` is the raw close, ``adj_close`` the ``Adj Close`` column when present (``auto_adjust=False``),
  otherwise the (already adjusted) close. ``volume`` as reported (0 for indices and FX).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

import numpy as np
import pandas as pd

from hrl_sarp.data.benchmark import DEFAULT_INDEX_SYMBOL
from hrl_sarp.data.market import RawMarket
from hrl_sarp.domain import TABLE_COLUMNS
from hrl_sarp.errors import HrlSarpError, SourceUnavailableError

log = logging.getLogger(__name__)

MACRO_TICKERS: dict[str, str] = {"^INDIAVIX": "india_vix", "INR=X": "usd_inr", "BZ=F": "brent"}
INDEX_SECTOR = "Index"
EXCHANGE_SUFFIXES = (".NS", ".BO")
YF_COLUMNS = {
    "Open": "open",
    "High": "high",
    "Low": "low",
    "Close": "close",
    "Adj Close": "adj_close",
    "Volume": "volume",
}

# A default NSE universe: large, liquid names across the 11 sectors of the synthetic market.
DEFAULT_SECTOR_MAP: dict[str, str] = {
    **dict.fromkeys(["TCS.NS", "INFY.NS", "HCLTECH.NS", "WIPRO.NS", "TECHM.NS"], "IT"),
    **dict.fromkeys(["HDFCBANK.NS", "ICICIBANK.NS", "SBIN.NS", "KOTAKBANK.NS", "AXISBANK.NS"], "Financials"),
    **dict.fromkeys(["MARUTI.NS", "M&M.NS", "BAJAJ-AUTO.NS", "EICHERMOT.NS", "HEROMOTOCO.NS"], "Auto"),
    **dict.fromkeys(["SUNPHARMA.NS", "DRREDDY.NS", "CIPLA.NS", "DIVISLAB.NS"], "Pharma"),
    **dict.fromkeys(["HINDUNILVR.NS", "ITC.NS", "NESTLEIND.NS", "BRITANNIA.NS"], "FMCG"),
    **dict.fromkeys(["RELIANCE.NS", "ONGC.NS", "NTPC.NS", "POWERGRID.NS", "BPCL.NS"], "Energy"),
    **dict.fromkeys(["TATASTEEL.NS", "JSWSTEEL.NS", "HINDALCO.NS", "VEDL.NS"], "Metals"),
    **dict.fromkeys(["DLF.NS", "GODREJPROP.NS", "OBEROIRLTY.NS"], "Realty"),
    **dict.fromkeys(["ZEEL.NS", "SUNTV.NS", "PVRINOX.NS"], "Media"),
    **dict.fromkeys(["BHARTIARTL.NS", "IDEA.NS", "INDUSTOWER.NS"], "Telecom"),
    **dict.fromkeys(["LT.NS", "ADANIPORTS.NS", "ULTRACEMCO.NS", "GRASIM.NS"], "Infra"),
}


def symbol_of(ticker: str) -> str:
    """``TCS.NS`` -> ``TCS``; ``^CNXIT`` -> ``CNXIT``; anything else unchanged."""
    for suffix in EXCHANGE_SUFFIXES:
        if ticker.upper().endswith(suffix):
            return ticker[: -len(suffix)]
    return ticker.lstrip("^")


def yahoo_ticker(symbol: str) -> str:
    """A bare NSE symbol gets ``.NS``; tickers that already name a market (suffix, ``^``, ``=``) stay as they are."""
    if symbol.startswith("^") or "=" in symbol or "." in symbol:
        return symbol
    return f"{symbol}.NS"


def split_download(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """A ``yf.download`` frame with (Ticker, Price) or (Price, Ticker) column levels -> ``{ticker: frame}``."""
    if not isinstance(frame.columns, pd.MultiIndex):
        raise HrlSarpError(
            "a single-level yfinance frame does not say which ticker it holds: pass {ticker: frame} instead"
        )
    names = list(frame.columns.names)
    # Unnamed levels: the ticker level is the one that does not hold "Close".
    price_first = "Close" in frame.columns.get_level_values(0)
    level = names.index("Ticker") if "Ticker" in names else int(price_first)
    return {
        str(ticker): frame.xs(ticker, axis=1, level=level)
        for ticker in dict.fromkeys(frame.columns.get_level_values(level))
    }


def normalise_yfinance(
    frames: dict[str, pd.DataFrame] | pd.DataFrame,
    sector_map: dict[str, str],
    benchmark: str = "^NSEI",
    *,
    benchmark_symbol: str = DEFAULT_INDEX_SYMBOL,
) -> RawMarket:
    """Turn yfinance frames into the raw-market layout (see module docstring).

    ``frames``: ``{ticker: frame}`` (each like ``Ticker.history``: a date index and Open/High/Low/Close
    [/Adj Close]/Volume columns, other columns ignored) or one ``yf.download`` frame with a (Ticker, Price)
    column MultiIndex. ``sector_map``: ticker or symbol -> sector for the stocks.
    """
    per_ticker = split_download(frames) if isinstance(frames, pd.DataFrame) else dict(frames)
    sectors = {symbol_of(k): v for k, v in sector_map.items()}
    securities, prices, macro = [], [], []
    for ticker, frame in per_ticker.items():
        bars = _bars(frame)
        if bars.empty:
            log.warning("yfinance: no rows for %s", ticker)
            continue
        if ticker in MACRO_TICKERS:
            macro.append(
                pd.DataFrame(
                    {
                        "date": bars["date"],
                        "series": MACRO_TICKERS[ticker],
                        "value": bars["close"],
                        "available_at": bars["date"],
                    }
                )
            )
            continue
        if ticker == benchmark:
            symbol, sector, kind = benchmark_symbol, INDEX_SECTOR, "index"
        elif ticker.startswith("^"):
            symbol, sector, kind = symbol_of(ticker), INDEX_SECTOR, "index"
        else:
            symbol = symbol_of(ticker)
            sector, kind = sector_map.get(ticker, sectors.get(symbol)), "stock"
        securities.append({"symbol": symbol, "sector": sector, "name": ticker, "kind": kind})
        prices.append(bars.assign(symbol=symbol))
    return RawMarket(
        securities=pd.DataFrame(securities, columns=TABLE_COLUMNS["securities"]),
        prices=_stack(prices, "prices"),
        macro=_stack(macro, "macro"),
    )


def _bars(frame: pd.DataFrame) -> pd.DataFrame:
    """One ticker's frame -> date, open, high, low, close, adj_close, volume (rows with no price dropped)."""
    if isinstance(frame.columns, pd.MultiIndex):  # a single-ticker download keeps its ticker level
        levels = range(frame.columns.nlevels)
        frame = frame.droplevel([n for n in levels if "Close" not in frame.columns.get_level_values(n)], axis=1)
    present = {c: YF_COLUMNS[c] for c in frame.columns if c in YF_COLUMNS}
    bars = frame.loc[:, list(present)].rename(columns=present)
    index = pd.DatetimeIndex(frame.index)
    if index.tz is not None:
        index = index.tz_localize(None)
    bars.insert(0, "date", index.normalize().astype("datetime64[ns]"))
    bars = bars.reset_index(drop=True)
    for column in ("open", "high", "low", "close", "adj_close", "volume"):
        if column not in bars:
            bars[column] = bars["close"] if column == "adj_close" and "close" in bars else np.nan
    prices = bars[["open", "high", "low", "close", "adj_close"]]
    return bars.loc[prices.notna().any(axis=1).to_numpy()].reset_index(drop=True)


def _stack(frames: list[pd.DataFrame], table: str) -> pd.DataFrame:
    columns = TABLE_COLUMNS[table]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    stacked = pd.concat(frames, ignore_index=True)
    for column in columns:
        if column not in stacked:
            stacked[column] = np.nan
    return stacked[columns]


def fetch_yfinance(
    tickers: Iterable[str],
    start: dt.date | str,
    end: dt.date | str,
    sector_map: dict[str, str],
    *,
    benchmark: str = "^NSEI",
    benchmark_symbol: str = DEFAULT_INDEX_SYMBOL,
    macro_tickers: Iterable[str] = tuple(MACRO_TICKERS),
) -> RawMarket:
    """Download daily bars for ``tickers`` plus the benchmark and macro tickers, ``start`` to ``end`` inclusive.

    Bare NSE symbols get ``.NS``. Raises :class:`HrlSarpError` (one line) when yfinance is not installed, the
    download fails, or it returns no rows at all (usually: no network).
    """
    try:
        import yfinance as yf
    except ImportError:
        raise HrlSarpError("the yfinance source needs the optional package: pip install 'hrl-sarp[yfinance]'") from None
    wanted = list(dict.fromkeys([yahoo_ticker(t) for t in tickers] + [benchmark, *macro_tickers]))
    end_exclusive = pd.Timestamp(end) + pd.Timedelta(days=1)  # yfinance's end is exclusive
    try:
        frame = yf.download(
            wanted,
            start=pd.Timestamp(start).strftime("%Y-%m-%d"),
            end=end_exclusive.strftime("%Y-%m-%d"),
            group_by="ticker",
            auto_adjust=False,
            actions=False,
            progress=False,
            threads=True,
            multi_level_index=True,
        )
    except Exception as exc:  # network, HTTP and parsing errors all mean the same thing to the user
        raise SourceUnavailableError(
            f"yfinance download failed ({type(exc).__name__}: {exc}); check the network"
        ) from None
    if frame is None or frame.empty or frame.isna().all().all():
        raise SourceUnavailableError(
            f"yfinance returned no data for {len(wanted)} tickers from {start} to {end} "
            "(no network, or the tickers are wrong)"
        )
    sector_map = {yahoo_ticker(k): v for k, v in sector_map.items()}
    raw = normalise_yfinance(frame, sector_map, benchmark, benchmark_symbol=benchmark_symbol)
    missing = sorted(set(wanted) - {str(t) for t in raw.securities["name"]} - set(macro_tickers))
    if missing:
        log.warning("yfinance: no data for %d ticker(s): %s", len(missing), ", ".join(missing[:10]))
    return raw
