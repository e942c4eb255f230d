"""The ``files`` source: a folder of the user's own CSV or Parquet files.

Layout (headers are matched case-insensitively; spaces become underscores, so ``Adj Close`` is ``adj_close``)::

    DIR/securities.csv          symbol,sector[,name,kind,listed_on,delisted_on]    (or securities.parquet)
    DIR/prices/*.parquet|csv    date,symbol,close[,open,high,low,adj_close,volume,delivery_pct]
    DIR/macro/*.parquet|csv     date,series,value[,available_at]                   (optional)
    DIR/fundamentals/*.parquet|csv  symbol,period_end,field,value[,available_at]   (optional)
    DIR/sentiment/*.parquet|csv date,sector,value[,available_at]                   (optional)
    DIR/events.csv              date,event                                         (optional, or events/*.csv)

Each table may also be a single ``DIR/<table>.csv|parquet``. Dates are ISO 8601 (``YYYY-MM-DD``).

Defaults for missing optional columns (and blank cells of them), so every output frame has the market.py
columns: ``kind`` -> ``stock``; ``open`` -> close; ``high``/``low`` -> close when ``open`` is absent too (otherwise
left blank for validation to derive as max/min of open and close); ``adj_close`` -> close; ``volume`` and
``delivery_pct`` -> NaN (no volume switches the liquidity filter off: logged as a warning); macro and sentiment
``available_at`` -> ``date`` (published the same day); fundamentals ``available_at`` -> ``period_end`` +
:data:`FUNDAMENTALS_RELEASE_LAG_DAYS` days (the usual Indian quarterly results lag).

Every row carries ``_file`` (path relative to DIR) and ``_row`` (1-based data row, header excluded; blank lines
are skipped) so that validation can name the file and row of a bad value. Reading never judges values: that is
:func:`hrl_sarp.data.validation.validate_market`'s job. A file that cannot be read, or that lacks a required
column, becomes one whole-file :class:`~hrl_sarp.data.market.Rejection` (``row`` None, ``payload['rows']`` the
number of data rows lost when known) and the other files still load. The securities file is the exception:
everything else refers to it, so an unreadable or incomplete securities file raises :class:`InputError`.
"""

from __future__ import annotations

import csv
import gzip
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from hrl_sarp.data.market import RawMarket, Rejection, empty_frame
from hrl_sarp.data.validation import DATE_COLUMNS, FLOAT_COLUMNS, PROVENANCE_COLUMNS, parse_dates
from hrl_sarp.domain import TABLE_COLUMNS
from hrl_sarp.errors import InputError

log = logging.getLogger(__name__)

SOURCE = "files"
DATA_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")
FUNDAMENTALS_RELEASE_LAG_DAYS = 45

REQUIRED_COLUMNS: dict[str, list[str]] = {
    "securities": ["symbol", "sector"],
    "prices": ["date", "symbol", "close"],
    "macro": ["date", "series", "value"],
    "fundamentals": ["symbol", "period_end", "field", "value"],
    "sentiment": ["date", "sector", "value"],
    "events": ["date", "event"],
}
OPTIONAL_TABLES = ["macro", "fundamentals", "sentiment", "events"]

# Text that means "no value" in a numeric or date cell. Identifier columns (symbol, sector, ...) only treat an
# empty cell as missing, so that a ticker such as "NA" survives.
NA_TOKENS = ["", "NA", "N/A", "NaN", "nan", "NaT", "null", "NULL", "None", "-"]


def read_files(path: str | Path) -> tuple[RawMarket, list[Rejection]]:
    """Read the folder layout above into a :class:`RawMarket` (with ``_file``/``_row``) plus whole-file rejections.

    Raises :class:`InputError` when ``path`` is missing or not a folder, the folder is empty, it has no (readable,
    complete) securities file, or it has no price files.
    """
    root = Path(path)
    if not root.exists():
        raise InputError("data folder not found", file=str(root))
    if not root.is_dir():
        raise InputError("not a folder (expected a directory holding securities.csv and prices/)", file=str(root))
    if not any(not p.name.startswith(".") for p in root.iterdir()):
        raise InputError("data folder is empty (expected securities.csv and prices/*.csv|parquet)", file=str(root))

    securities_file = _table_files(root, "securities")
    if not securities_file:
        raise InputError(
            "no securities file (expected securities.csv with columns symbol,sector[,name,kind,...])",
            file=str(root),
        )
    securities, rejections = _read_table(root, "securities", securities_file[:1])
    if rejections:
        first = rejections[0]
        raise InputError(first.reason, file=str(root / first.file), column=first.column)

    price_files = _table_files(root, "prices")
    if not price_files:
        raise InputError("no price files (expected prices/*.csv or prices/*.parquet)", file=str(root))
    prices, price_rejections = _read_table(root, "prices", price_files)
    rejections += price_rejections

    tables = {"securities": securities, "prices": prices}
    for table in OPTIONAL_TABLES:
        frame, table_rejections = _read_table(root, table, _table_files(root, table))
        tables[table] = frame
        rejections += table_rejections
    return RawMarket(**tables), rejections


def _table_files(root: Path, table: str) -> list[Path]:
    """``DIR/<table>.<ext>`` and ``DIR/<table>/*.<ext>``, sorted by name."""
    files = [root / f"{table}{suffix}" for suffix in DATA_SUFFIXES if (root / f"{table}{suffix}").is_file()]
    folder = root / table
    if folder.is_dir():
        files += sorted(p for p in folder.iterdir() if p.is_file() and _is_data_file(p))
    return files


def _is_data_file(path: Path) -> bool:
    return not path.name.startswith(".") and path.name.lower().endswith(DATA_SUFFIXES)


def _read_table(root: Path, table: str, files: list[Path]) -> tuple[pd.DataFrame, list[Rejection]]:
    frames, rejections, no_volume = [], [], []
    for path in files:
        name = path.relative_to(root).as_posix()
        try:
            frame = _read_file(path, table)
        except Exception as exc:  # any parser/Arrow/IO failure: the file is unusable, the others still load
            reason = f"unreadable file ({type(exc).__name__}: {_first_line(exc)})"
            rejections.append(Rejection(SOURCE, table, name, None, None, reason, {"rows": None}))
            continue
        missing = [c for c in REQUIRED_COLUMNS[table] if c not in frame.columns]
        if missing:
            reason = (
                f"missing required column{'s' if len(missing) > 1 else ''} {', '.join(missing)}: "
                f"all {len(frame)} rows of the file rejected"
            )
            payload = {"rows": len(frame), "columns": [str(c) for c in frame.columns]}
            rejections.append(Rejection(SOURCE, table, name, None, missing[0], reason, payload))
            continue
        extra = set(frame.columns) - set(TABLE_COLUMNS[table])
        if extra:
            log.debug("%s: ignoring columns %s", name, sorted(extra))
            frame = frame.drop(columns=sorted(extra))
        if table == "prices" and "volume" not in frame.columns:
            no_volume.append(name)
        frame["_file"] = name
        frame["_row"] = np.arange(1, len(frame) + 1, dtype=np.int64)
        frames.append(frame)
    if no_volume:
        log.warning(
            "%d price file(s) without a volume column (first: %s): the liquidity filter is off for them",
            len(no_volume),
            no_volume[0],
        )
    if not frames:
        return _empty_with_provenance(table), rejections
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return _complete(frame, table), rejections


def _read_file(path: Path, table: str) -> pd.DataFrame:
    if path.name.lower().endswith((".parquet", ".pq")):
        frame = pd.read_parquet(path)
        return frame.rename(columns=_normalise_header)
    header = _csv_header(path)
    numeric_or_date = set(FLOAT_COLUMNS[table]) | set(DATE_COLUMNS[table])
    dtype, na_values = {}, {}
    for column in header:
        name = _normalise_header(column)
        if name not in numeric_or_date:
            dtype[column] = "str"
        na_values[column] = NA_TOKENS if name in numeric_or_date else [""]
    frame = pd.read_csv(path, dtype=dtype, keep_default_na=False, na_values=na_values)
    return frame.rename(columns=_normalise_header)


def _csv_header(path: Path) -> list[str]:
    """The header row as written (cheaper than a pandas pass; the parser itself validates the file)."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
        return next(csv.reader(handle), [])


def _normalise_header(column: object) -> str:
    return str(column).strip().lower().replace(" ", "_")


def _complete(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Fill the optional columns (absent, or blank cells) with the documented defaults (see module docstring)."""
    for column in TABLE_COLUMNS[table]:
        if column not in frame.columns:
            frame[column] = np.nan
    if table == "securities":
        frame["kind"] = frame["kind"].where(~_blank(frame["kind"]), "stock")
    elif table == "prices":
        close = frame["close"]
        no_open = _blank(frame["open"])
        frame["open"] = frame["open"].where(~no_open, close)
        for column in ("high", "low"):
            frame[column] = frame[column].where(~(no_open & _blank(frame[column])), close)
        frame["adj_close"] = frame["adj_close"].where(~_blank(frame["adj_close"]), close)
    elif table in ("macro", "sentiment"):
        frame["available_at"] = _default_available_at(frame, "date", 0)
    elif table == "fundamentals":
        frame["available_at"] = _default_available_at(frame, "period_end", FUNDAMENTALS_RELEASE_LAG_DAYS)
    return frame[TABLE_COLUMNS[table] + list(PROVENANCE_COLUMNS)]


def _default_available_at(frame: pd.DataFrame, base: str, lag_days: int) -> pd.Series:
    """``available_at`` where given, else ``base + lag_days``, kept as text when the column is text."""
    given = frame["available_at"]
    missing = _blank(given)
    if not missing.any():
        return given
    base_values = frame[base]
    if lag_days:
        parsed, _ = parse_dates(base_values)
        base_values = parsed + pd.Timedelta(days=lag_days)
    as_datetime = pd.api.types.is_datetime64_any_dtype(given.dtype) or missing.all()
    if as_datetime and not pd.api.types.is_datetime64_any_dtype(base_values.dtype):
        as_datetime = False
    if as_datetime:
        return given.where(~missing, base_values) if not missing.all() else base_values
    if pd.api.types.is_datetime64_any_dtype(base_values.dtype):
        base_values = base_values.dt.strftime("%Y-%m-%d")
    return given.astype(object).where(~missing, base_values.astype(object))


def _blank(values: pd.Series) -> pd.Series:
    missing = values.isna()
    if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
        missing |= values.astype("str").str.strip().eq("")
    return missing


def _empty_with_provenance(table: str) -> pd.DataFrame:
    frame = empty_frame(table)
    frame["_file"] = pd.Series(dtype="object")
    frame["_row"] = pd.Series(dtype="int64")
    return frame


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else "no details"
