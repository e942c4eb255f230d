"""Source dispatcher: one entry point that reads a batch of raw market data from any configured source.

Sources (see docs/warehouse.md and SPEC "Data sources"):

- ``synthetic``: the seeded generator (:func:`hrl_sarp.data.synthetic.generate_market`), offline.
- ``files``: a user folder of CSV/Parquet files (:func:`hrl_sarp.data.files.read_files`).
- ``yfinance``: NSE tickers from Yahoo Finance (optional extra, needs network).

Every source returns the :class:`~hrl_sarp.data.market.RawMarket` contract plus the rows it could not even read
(:class:`~hrl_sarp.data.market.Rejection`); validation happens afterwards, the same way for all sources.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path
from typing import get_args

import pandas as pd

from hrl_sarp.config import Config
from hrl_sarp.data.benchmark import DEFAULT_INDEX_SYMBOL
from hrl_sarp.data.market import RawMarket, Rejection
from hrl_sarp.domain import DataSource
from hrl_sarp.errors import ConfigError, InputError

SOURCES: tuple[str, ...] = get_args(DataSource)

# The column each table is windowed on by ``start``/``end`` (securities are never windowed).
DATE_COLUMNS: dict[str, str] = {
    "prices": "date",
    "macro": "date",
    "fundamentals": "period_end",
    "sentiment": "date",
    "events": "date",
}

DateLike = str | dt.date | dt.datetime | pd.Timestamp | None


def read_source(
    cfg: Config,
    source: str | None = None,
    path: str | Path | None = None,
    start: DateLike = None,
    end: DateLike = None,
) -> tuple[RawMarket, list[Rejection]]:
    """Read one batch of raw data from ``source`` (default ``cfg.data.source``).

    ``path`` (default ``cfg.data.path``) is the folder for ``files``, and for ``yfinance`` an optional folder or
    CSV with ``symbol,sector[,kind]`` naming the tickers. ``start``/``end`` (defaults ``cfg.data.start``/``end``,
    inclusive) keep only rows whose date falls in the window; rows whose date cannot be parsed are kept so that
    validation can reject them with a reason.

    Returns the raw frames (not yet validated) and the rejections the reader itself produced.
    """
    source = source or cfg.data.source
    if source not in SOURCES:
        raise InputError(f"unknown source '{source}' (choose one of: {', '.join(SOURCES)})")
    path = path if path is not None else cfg.data.path
    start = _as_timestamp(start if start is not None else cfg.data.start, "start")
    end = _as_timestamp(end if end is not None else cfg.data.end, "end")
    if start is not None and end is not None and start > end:
        raise InputError(f"start {start.date()} is after end {end.date()}")

    rejections: list[Rejection] = []
    if source == "synthetic":
        from hrl_sarp.data.synthetic import generate_market

        raw = generate_market(cfg.data.synthetic, cfg.data.benchmark or DEFAULT_INDEX_SYMBOL).raw
    elif source == "files":
        if path is None:
            raise InputError("source 'files' needs a folder: pass --path DIR (or set data.path in the config)")
        from hrl_sarp.data.files import read_files

        raw, rejections = read_files(path)
    else:
        raw = _read_yfinance(cfg, path, start, end)
    return filter_dates(raw, start, end), list(rejections)


def filter_dates(raw: RawMarket, start: pd.Timestamp | None, end: pd.Timestamp | None) -> RawMarket:
    """Keep rows dated within ``[start, end]``; rows with an unparseable date are kept for validation to reject."""
    if start is None and end is None:
        return raw
    tables = {}
    for name, frame in raw.tables().items():
        column = DATE_COLUMNS.get(name)
        if column is None or frame.empty or column not in frame.columns:
            tables[name] = frame
            continue
        dates = pd.to_datetime(frame[column], errors="coerce", format="mixed")
        keep = dates.isna()
        inside = pd.Series(True, index=frame.index)
        if start is not None:
            inside &= dates >= start
        if end is not None:
            inside &= dates <= end
        tables[name] = frame.loc[keep | inside].reset_index(drop=True)
    return RawMarket(**tables)


def _as_timestamp(value: DateLike, name: str) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        return pd.Timestamp(value).normalize()
    except (ValueError, TypeError):
        raise InputError(f"{name} date '{value}' is not a date (use YYYY-MM-DD)") from None


def _read_yfinance(cfg: Config, path, start: pd.Timestamp | None, end: pd.Timestamp | None) -> RawMarket:
    """Tickers and sectors come from a securities list (``path``) or the module's default NSE universe."""
    sector_map = _sector_map_from(Path(path)) if path is not None else None
    if importlib.util.find_spec("yfinance") is None:  # permanent: not worth a retry
        raise ConfigError("the yfinance source needs the optional package: pip install 'hrl-sarp[yfinance]'")
    from hrl_sarp.data import yfinance_source

    if sector_map is None:
        sector_map = dict(yfinance_source.DEFAULT_SECTOR_MAP)
    start = start if start is not None else pd.Timestamp(cfg.data.synthetic.start)
    end = end if end is not None else pd.Timestamp.today().normalize()
    return yfinance_source.fetch_yfinance(
        list(sector_map),
        start.date(),
        end.date(),
        sector_map,
        benchmark_symbol=cfg.data.benchmark or DEFAULT_INDEX_SYMBOL,
    )


def _sector_map_from(path: Path) -> dict[str, str]:
    """``symbol -> sector`` for the stock rows of a securities CSV (a file, or a folder holding securities.csv)."""
    file = path / "securities.csv" if path.is_dir() else path
    if not file.exists():
        raise InputError("ticker list not found", file=str(file))
    table = pd.read_csv(file, dtype=str)
    for column in ("symbol", "sector"):
        if column not in table.columns:
            raise InputError("required column is missing", file=str(file), column=column)
    if "kind" in table.columns:
        table = table[table["kind"].fillna("stock").str.strip().str.lower() != "index"]
    table = table.dropna(subset=["symbol", "sector"])
    if table.empty:
        raise InputError("no stock rows with both symbol and sector", file=str(file))
    return dict(zip(table["symbol"].str.strip(), table["sector"].str.strip(), strict=True))
