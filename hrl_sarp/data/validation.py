"""Raw-data validation: split every source's batch into valid rows and rejected rows, each with a reason.

The same code runs for every source (synthetic, files, yfinance). Per table, in this order:

1. **Coerce** each column of the market contract: dates parse as ISO 8601 (``YYYY-MM-DD``, optionally with a
   time that is dropped; typed Parquet dates pass through; time zones are dropped keeping the local wall date),
   numbers as float64, strings are stripped (blank is missing). A value that does not parse rejects its row
   (``unparseable date '13/02/2020'``) -- non-ISO text dates are rejected rather than guessed, because
   ``02/01/2020`` means different days to different people.
2. **Defaults** (documented neutral values): securities ``kind`` blank -> ``stock``; prices with a blank
   ``open`` -> close, ``high`` -> max(open, close), ``low`` -> min(open, close), ``adj_close`` -> close.
3. **Pandera** (:mod:`schemas.raw`, lazily, uniqueness left to step 5): missing required values, zero or
   negative prices, negative volume, kind not stock/index, non-finite values, sentiment outside [-1, 1],
   ``available_at`` before the observation date / ``period_end``, OHLC bars that are inconsistent beyond
   :data:`schemas.raw.OHLC_TOLERANCE` (rejected; within the tolerance high/low are widened to cover open/close
   and the row is counted in ``ohlc_repaired``), ``delisted_on`` before ``listed_on``.
4. **Securities reference** (prices, fundamentals): a symbol with no valid securities row is rejected.
5. **Duplicates** on the natural key (:data:`hrl_sarp.data.market.TABLE_KEYS`): exact copies collapse to the
   first one (counted in ``duplicates_collapsed``); copies that disagree are all rejected.

A row is judged once: its first problem (in the order above; required columns before optional ones, so a bad
``close`` is named rather than the ``open`` that was filled from it) is the reason. Every input row ends up in
exactly one of: the output, a :class:`~hrl_sarp.data.market.Rejection`, or the collapsed-duplicate count.

Rows carry provenance in ``_file`` / ``_row`` when the files source read them; otherwise the table name and the
1-based position in the batch stand in for file and row.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandas.api import types as ptypes

from hrl_sarp.data.market import RawMarket, Rejection
from hrl_sarp.domain import TABLE_COLUMNS, TABLE_KEYS
from schemas.raw import RAW_SCHEMAS, VALUE_DOMAINS

log = logging.getLogger(__name__)

PROVENANCE_COLUMNS = ("_file", "_row")

DATE_COLUMNS: dict[str, list[str]] = {
    "securities": ["listed_on", "delisted_on"],
    "prices": ["date"],
    "macro": ["date", "available_at"],
    "fundamentals": ["period_end", "available_at"],
    "sentiment": ["date", "available_at"],
    "events": ["date"],
}
FLOAT_COLUMNS: dict[str, list[str]] = {
    "securities": [],
    "prices": ["open", "high", "low", "close", "adj_close", "volume", "delivery_pct"],
    "macro": ["value"],
    "fundamentals": ["value"],
    "sentiment": ["value"],
    "events": [],
}
# Columns a source may leave blank (filled with a documented default or allowed to be missing).
OPTIONAL_COLUMNS: dict[str, set[str]] = {
    "securities": {"name", "kind", "listed_on", "delisted_on"},
    "prices": {"open", "high", "low", "adj_close", "volume", "delivery_pct"},
    "macro": {"available_at"},
    "fundamentals": {"available_at"},
    "sentiment": {"available_at"},
    "events": set(),
}

# Dates outside this window are data-entry errors (and would overflow datetime64[ns]).
EARLIEST_DATE = pd.Timestamp("1900-01-01")
LATEST_DATE = pd.Timestamp("2200-12-31")

# Validation order of the tables: securities first, so prices/fundamentals can be checked against them.
TABLE_ORDER = ["securities", "prices", "macro", "fundamentals", "sentiment", "events"]


@dataclass
class ValidationReport:
    """What :func:`validate_report` did: the valid batch, the rejected rows and the per-table counts.

    ``rows_in[t] == len(market.<t>) + rows_rejected[t] + duplicates_collapsed[t]`` for every table.
    """

    market: RawMarket
    rejections: list[Rejection]
    rows_in: dict[str, int] = field(default_factory=dict)
    rows_rejected: dict[str, int] = field(default_factory=dict)
    duplicates_collapsed: dict[str, int] = field(default_factory=dict)
    ohlc_repaired: int = 0


def validate_market(
    raw: RawMarket, source: str, *, known_symbols: Iterable[str] | None = None
) -> tuple[RawMarket, list[Rejection]]:
    """Split ``raw`` into valid rows (exact market.py columns and dtypes) and rejected rows with reasons.

    ``known_symbols`` (e.g. symbols already in the warehouse) count as present in securities. Exact duplicate
    rows collapse to one; their count is on each output frame's ``attrs["duplicates_collapsed"]`` (and in
    :func:`validate_report`).
    """
    report = validate_report(raw, source, known_symbols=known_symbols)
    return report.market, report.rejections


def validate_report(raw: RawMarket, source: str, *, known_symbols: Iterable[str] | None = None) -> ValidationReport:
    """:func:`validate_market` with the counts (rows in, rejected, collapsed, OHLC repaired) per table."""
    tables = raw.tables()
    out: dict[str, pd.DataFrame] = {}
    report = ValidationReport(market=RawMarket(), rejections=[])
    valid_symbols: set[str] = set(known_symbols or ())
    raw_symbols: set[str] = set()
    for table in TABLE_ORDER:
        frame = tables[table]
        checker = _TableValidator(table, source, valid_symbols, raw_symbols)
        valid, rejections, collapsed = checker.run(frame)
        valid.attrs["duplicates_collapsed"] = collapsed
        out[table] = valid
        report.rejections.extend(rejections)
        report.rows_in[table] = len(frame)
        report.rows_rejected[table] = len(rejections)
        report.duplicates_collapsed[table] = collapsed
        report.ohlc_repaired += checker.ohlc_repaired
        if collapsed:
            log.info("%s: %d exact duplicate %s rows collapsed", source, collapsed, table)
        if table == "securities":
            valid_symbols |= set(valid["symbol"])
            raw_symbols = set(checker.coerced_symbols)
    report.market = RawMarket(**out)
    return report


def rejected_row_count(rejections: Iterable[Rejection]) -> int:
    """Input rows covered by ``rejections``: 1 per row-level one, ``payload['rows']`` per whole-file one."""
    total = 0
    for rejection in rejections:
        total += 1 if rejection.row is not None else int(rejection.payload.get("rows", 0) or 0)
    return total


# --------------------------------------------------------------------------------------------- coercion


def parse_dates(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Parse ``values`` (n,) to ``datetime64[ns]`` at midnight; returns (dates, unparseable mask (n,) bool).

    Missing values (None, NaN, blank) give NaT and are *not* flagged: nullability is the schema's call.
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        parsed = values.dt.tz_localize(None)
    elif ptypes.is_datetime64_dtype(values.dtype):
        parsed = values
    else:
        text = values.astype("str").where(values.notna()) if ptypes.is_numeric_dtype(values.dtype) else values
        if text.dtype == object and text.map(_is_aware, na_action="ignore").fillna(False).astype(bool).any():
            text = text.map(_drop_tz, na_action="ignore")
        parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
        if isinstance(parsed.dtype, pd.DatetimeTZDtype):
            parsed = parsed.dt.tz_localize(None)
    in_range = (parsed >= EARLIEST_DATE) & (parsed <= LATEST_DATE)
    parsed = parsed.where(in_range).dt.normalize().astype("datetime64[ns]")
    return parsed, _flag_unparsed(values, parsed)


def parse_numbers(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Parse ``values`` (n,) to float64; returns (numbers, not-a-number mask (n,) bool). Missing is not flagged."""
    if ptypes.is_numeric_dtype(values.dtype) and not ptypes.is_bool_dtype(values.dtype):
        return values.astype("float64"), np.zeros(len(values), dtype=bool)
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    return numbers, _flag_unparsed(values, numbers)


def _flag_unparsed(values: pd.Series, parsed: pd.Series) -> np.ndarray:
    """Rows whose value was given (not missing or blank) but did not parse."""
    suspect = np.flatnonzero(parsed.isna().to_numpy() & values.notna().to_numpy())
    bad = np.zeros(len(values), dtype=bool)
    if len(suspect):
        bad[suspect] = ~_blank(values.iloc[suspect]).to_numpy()
    return bad


def parse_strings(values: pd.Series) -> pd.Series:
    """``values`` (n,) as pandas strings, stripped; blank becomes missing."""
    if ptypes.is_float_dtype(values.dtype) and values.dropna().mod(1).eq(0).all():
        # A numeric code read as float (e.g. "500325" from Parquet) must not become "500325.0".
        values = values.astype("Int64")
    missing = values.isna()
    text = values.astype("str").str.strip()
    return text.where(~missing & (text != ""))


def _blank(values: pd.Series) -> pd.Series:
    missing = values.isna()
    if values.dtype == object or ptypes.is_string_dtype(values.dtype):
        missing |= values.astype("str").str.strip().eq("")
    return missing


def _is_aware(value: object) -> bool:
    return isinstance(value, dt.datetime) and value.tzinfo is not None


def _drop_tz(value: object) -> object:
    return value.replace(tzinfo=None) if _is_aware(value) else value


# --------------------------------------------------------------------------------------------- one table


def _row_schema(table: str) -> pa.DataFrameSchema:
    """The table's Pandera schema without the uniqueness rule (duplicates are judged after row checks)."""
    schema = copy.deepcopy(RAW_SCHEMAS[table].to_schema())
    schema.unique = None
    return schema


_ROW_SCHEMAS = {table: _row_schema(table) for table in TABLE_ORDER}


# Formats the reasons of a group of problems, given the row positions (m,) chosen from that group.
ReasonFormatter = Callable[[np.ndarray], list[str]]


class _TableValidator:
    """Validates one table of a batch; holds the per-row problems while it works.

    Problems are recorded in groups (row positions, priority, column, reason formatter) and resolved to one per
    row; reason text is only formatted for the problem that names a row, so a batch with many bad rows stays fast.
    """

    def __init__(self, table: str, source: str, valid_symbols: set[str], raw_symbols: set[str]):
        self.table, self.source = table, source
        self.valid_symbols, self.raw_symbols = valid_symbols, raw_symbols
        self.columns = TABLE_COLUMNS[table]
        # Which column's problem names a row first: the required ones, then the optional (possibly filled) ones.
        self.priority = sorted(self.columns, key=lambda c: (c in OPTIONAL_COLUMNS[table], self.columns.index(c)))
        self.ohlc_repaired = 0
        self.coerced_symbols: np.ndarray = np.array([], dtype=object)
        self._original = pd.DataFrame()
        self._groups: list[tuple[str | None, ReasonFormatter]] = []
        self._issue_pos: list[np.ndarray] = []
        self._issue_order: list[np.ndarray] = []
        self._issue_group: list[np.ndarray] = []

    def _add(self, pos: np.ndarray, order: int, column: str | None, formatter: ReasonFormatter) -> None:
        pos = np.asarray(pos, dtype=np.int64)
        if not len(pos):
            return
        self._groups.append((column, formatter))
        self._issue_pos.append(pos)
        self._issue_order.append(np.full(len(pos), order, dtype=np.int64))
        self._issue_group.append(np.full(len(pos), len(self._groups) - 1, dtype=np.int64))

    def run(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[Rejection], int]:
        original = frame.reset_index(drop=True)
        self._original = original
        n = len(original)
        coerced = self._coerce(original)
        if self.table == "securities":
            self.coerced_symbols = coerced["symbol"].dropna().unique()
        self._schema_checks(coerced)
        bad = np.zeros(n, dtype=bool)
        bad[self._resolve()[0]] = True
        if self.table in ("prices", "fundamentals"):
            self._reference_checks(coerced, bad)
            bad[self._resolve()[0]] = True
        keep, collapsed = self._duplicates(coerced, bad)
        valid = coerced.loc[keep].reset_index(drop=True)
        if self.table == "prices":
            valid = self._repair_ohlc(valid)
        return valid, self._rejections(original, *self._resolve()), collapsed

    def _coerce(self, original: pd.DataFrame) -> pd.DataFrame:
        n = len(original)
        data: dict[str, pd.Series] = {}
        for column in self.columns:
            order = self.priority.index(column)
            present = column in original.columns
            values = original[column] if present else pd.Series(np.full(n, np.nan), dtype="float64")
            if column in DATE_COLUMNS[self.table]:
                parsed, bad = parse_dates(values)
                self._add(np.flatnonzero(bad), order, column, _quoting("unparseable date", values))
            elif column in FLOAT_COLUMNS[self.table]:
                parsed, bad = parse_numbers(values)
                self._add(np.flatnonzero(bad), order, column, _quoting("not a number", values))
            else:
                parsed = parse_strings(values) if present else pd.Series(np.nan, index=values.index, dtype="str")
            data[column] = parsed.reset_index(drop=True)
        coerced = pd.DataFrame(data)
        if self.table == "securities":
            coerced["kind"] = coerced["kind"].str.lower().fillna("stock")
        elif self.table == "prices":
            close = coerced["close"]
            coerced["open"] = coerced["open"].fillna(close)
            coerced["high"] = coerced["high"].fillna(np.fmax(coerced["open"], close))
            coerced["low"] = coerced["low"].fillna(np.fmin(coerced["open"], close))
            coerced["adj_close"] = coerced["adj_close"].fillna(close)
        return coerced

    def _schema_checks(self, coerced: pd.DataFrame) -> None:
        try:
            _ROW_SCHEMAS[self.table].validate(coerced, lazy=True, inplace=True)
            return
        except pa.errors.SchemaErrors as errors:
            cases = errors.failure_cases
        if cases["index"].isna().any():
            # Only row-level failures are expected after coercion; anything else is a bug here, not bad data.
            raise RuntimeError(f"{self.table}: schema-level validation failure: {cases.head(3).to_dict('records')}")
        index = cases["index"].astype(np.int64).to_numpy()
        frame_checks = cases["schema_context"].eq("DataFrameSchema").to_numpy()
        column_cases = pd.DataFrame({"column": cases["column"], "check": cases["check"], "index": index})
        for (column, check), group in column_cases[~frame_checks].groupby(["column", "check"], sort=False):
            formatter = _column_formatter(column, str(check), coerced[column])
            self._add(group["index"].to_numpy(), 100 + self.priority.index(column), column, formatter)
        for check, group in column_cases[frame_checks].groupby("check", sort=False):
            column, formatter = _frame_formatter(str(check), coerced)
            self._add(np.unique(group["index"].to_numpy()), 200, column, formatter)

    def _reference_checks(self, coerced: pd.DataFrame, bad: np.ndarray) -> None:
        symbols = coerced["symbol"]
        absent = ~bad & symbols.notna().to_numpy() & ~symbols.isin(self.valid_symbols).to_numpy()

        def formatter(pos: np.ndarray) -> list[str]:
            return [
                f"symbol '{s}' was rejected in securities"
                if s in self.raw_symbols
                else f"symbol '{s}' absent from securities"
                for s in symbols.iloc[pos]
            ]

        self._add(np.flatnonzero(absent), 300, "symbol", formatter)

    def _duplicates(self, coerced: pd.DataFrame, bad: np.ndarray) -> tuple[np.ndarray, int]:
        """Mask (n,) of rows to keep; exact copies collapse, conflicting copies are recorded as problems."""
        keys = TABLE_KEYS[self.table]
        keep = ~bad
        good = coerced.loc[keep]
        same_key = good.duplicated(subset=keys, keep=False)
        if not same_key.any():
            return keep, 0
        suspects = good.loc[same_key]
        copies = suspects.duplicated(keep="first").to_numpy()
        distinct = suspects.loc[~copies]
        conflicts = distinct.loc[distinct.duplicated(subset=keys, keep=False)]
        # Exact copies of a conflicting row are part of the conflict: rejected with it rather than collapsed.
        in_conflict = suspects.set_index(keys).index.isin(conflicts.set_index(keys).index)
        keep[suspects.index[copies | in_conflict]] = False
        collapsed = int((copies & ~in_conflict).sum())
        rejected = suspects.loc[in_conflict]
        if len(rejected):
            where = self._where(rejected.index.to_numpy())
            reasons: dict[int, str] = {}
            for key, group in rejected.groupby(keys, sort=False):
                key = key if isinstance(key, tuple) else (key,)
                shown = ", ".join(_show(k) for k in key)
                locations = ", ".join(where[i] for i in group.index[:4])
                more = f" and {len(group) - 4} more" if len(group) > 4 else ""
                reason = (
                    f"conflicting duplicate of ({', '.join(keys)}) = ({shown}): {len(group)} rows disagree "
                    f"({locations}{more})"
                )
                reasons.update(dict.fromkeys(group.index.tolist(), reason))
            self._add(rejected.index.to_numpy(), 400, ", ".join(keys), lambda pos: [reasons[p] for p in pos.tolist()])
        return keep, collapsed

    def _repair_ohlc(self, valid: pd.DataFrame) -> pd.DataFrame:
        top = np.fmax(valid["open"], valid["close"])
        bottom = np.fmin(valid["open"], valid["close"])
        widen = (valid["high"] < top) | (valid["low"] > bottom)
        self.ohlc_repaired = int(widen.sum())
        if self.ohlc_repaired:
            valid["high"] = np.fmax(valid["high"], top)
            valid["low"] = np.fmin(valid["low"], bottom)
        return valid

    # ----------------------------------------------------------------------------------------- results

    def _resolve(self) -> tuple[np.ndarray, np.ndarray]:
        """The first problem of each row (lowest priority number): (row positions (m,), group ids (m,))."""
        if not self._issue_pos:
            empty = np.array([], dtype=np.int64)
            return empty, empty
        pos = np.concatenate(self._issue_pos)
        order = np.concatenate(self._issue_order)
        group = np.concatenate(self._issue_group)
        self._issue_pos, self._issue_order, self._issue_group = [pos], [order], [group]
        idx = np.lexsort((order, pos))
        sorted_pos = pos[idx]
        chosen = idx[np.flatnonzero(np.r_[True, sorted_pos[1:] != sorted_pos[:-1]])]
        return pos[chosen], group[chosen]

    def _where(self, pos: np.ndarray) -> dict[int, str]:
        files, rows = self._provenance(pos)
        return {int(p): f"{f}:{r}" for p, f, r in zip(pos, files, rows, strict=True)}

    def _provenance(self, pos: np.ndarray) -> tuple[list[str], list[int]]:
        frame = self._original
        if "_file" in frame.columns:
            files = [f if isinstance(f, str) else self.table for f in frame["_file"].to_numpy()[pos].tolist()]
        else:
            files = [self.table] * len(pos)
        rows = frame["_row"].to_numpy()[pos] if "_row" in frame.columns else pos + 1
        return files, np.asarray(rows, dtype=np.int64).tolist()

    def _rejections(self, original: pd.DataFrame, pos: np.ndarray, groups: np.ndarray) -> list[Rejection]:
        if not len(pos):
            return []
        columns = np.empty(len(pos), dtype=object)
        reasons = np.empty(len(pos), dtype=object)
        for group in np.unique(groups):
            members = np.flatnonzero(groups == group)
            column, formatter = self._groups[group]
            columns[members] = column
            reasons[members] = formatter(pos[members])
        files, rows = self._provenance(pos)
        payloads = _payloads(original.iloc[pos], [c for c in original.columns if c not in PROVENANCE_COLUMNS])
        return [
            Rejection(self.source, self.table, file, row, column, reason, payload)
            for file, row, column, reason, payload in zip(
                files, rows, columns.tolist(), reasons.tolist(), payloads, strict=True
            )
        ]


def _payloads(rows: pd.DataFrame, columns: list[str]) -> list[dict]:
    """``rows`` as JSON-able dicts (dates as ISO strings, NaN/NaT as None), converted column by column."""
    converted = [[jsonable(v) for v in rows[column].tolist()] for column in columns]
    if not columns:
        return [{} for _ in range(len(rows))]
    return [dict(zip(columns, values, strict=True)) for values in zip(*converted, strict=True)]


def _quoting(what: str, values: pd.Series) -> ReasonFormatter:
    return lambda pos: [f"{what} {v!r}" for v in values.iloc[pos].tolist()]


# --------------------------------------------------------------------------------------------- reasons


def _column_formatter(column: str, check: str, values: pd.Series) -> ReasonFormatter:
    """Reasons for a failed column check; ``values`` (n,) is the checked column."""
    if check == "not_nullable":
        reason = "NaN close (close is required)" if column == "close" else f"missing {column}"
        return lambda pos: [reason] * len(pos)
    if check.startswith("str_length"):
        return lambda pos: [f"empty {column}"] * len(pos)
    if check == "greater_than(0)":
        template = "zero or negative price {}"
    elif check == "greater_than_or_equal_to(0)" and column != "delivery_pct":
        template = f"negative {column} {{}}"
    elif check.startswith(("less_than_or_equal_to", "greater_than_or_equal_to")):
        bounds = "[0, 100]" if column == "delivery_pct" else "[-1, 1]"
        template = f"{column} {{}} outside {bounds}"
    elif check.startswith("isin"):
        template = f"{column} {{}} is not one of: stock, index"
    elif check == "finite":
        template = "non-finite value {}"
    else:
        template = f"failed check {check} with {{}}"
    return lambda pos: [template.format(_show(v)) for v in values.iloc[pos].tolist()]


def _frame_formatter(check: str, frame: pd.DataFrame) -> tuple[str | None, ReasonFormatter]:
    """The column to name and the reasons for a failed dataframe-wide check."""
    if check == "ohlc_consistent":

        def ohlc(pos: np.ndarray) -> list[str]:
            rows = frame.iloc[pos]
            return [
                f"inconsistent OHLC (open={_show(o)}, high={_show(h)}, low={_show(lo)}, close={_show(c)})"
                for o, h, lo, c in zip(rows["open"], rows["high"], rows["low"], rows["close"], strict=True)
            ]

        return "high", ohlc
    if check == "value_in_domain":
        key = "series" if "series" in frame.columns else "field"
        table = "macro" if key == "series" else "fundamentals"

        def domain(pos: np.ndarray) -> list[str]:
            rows = frame.iloc[pos]
            return [
                f"{name} value {_show(v)} outside its domain {_show_domain(*VALUE_DOMAINS[table][name])}"
                for name, v in zip(rows[key], rows["value"], strict=True)
            ]

        return "value", domain
    if check == "stock_has_sector":
        reason = "missing sector (a stock needs one; only kind=index rows may leave it blank)"
        return "sector", lambda pos: [reason] * len(pos)
    if check in ("available_not_before_date", "available_not_before_period_end", "delisted_not_before_listed"):
        later, earlier = {
            "available_not_before_date": ("available_at", "date"),
            "available_not_before_period_end": ("available_at", "period_end"),
            "delisted_not_before_listed": ("delisted_on", "listed_on"),
        }[check]

        def order(pos: np.ndarray) -> list[str]:
            rows = frame.iloc[pos]
            return [
                f"{later} {_show(a)} is before {earlier} {_show(b)}"
                for a, b in zip(rows[later], rows[earlier], strict=True)
            ]

        return later, order
    return None, lambda pos: [f"failed check {check}"] * len(pos)


def _show_domain(low: float | None, high: float | None) -> str:
    return f"[{'-inf' if low is None else f'{low:g}'}, {'inf' if high is None else f'{high:g}'}]"


def _show(value: object) -> str:
    if isinstance(value, (float, np.floating)) and not math.isnan(value):
        return f"{value:g}"
    value = jsonable(value)
    if value is None:
        return "missing"
    if isinstance(value, str):
        return value if _looks_like_date(value) else repr(value)
    return repr(value) if not isinstance(value, float) else f"{value:g}"


def _looks_like_date(text: str) -> bool:
    return len(text) == 10 and text[4] == "-" and text[7] == "-" and text[:4].isdigit()


def jsonable(value: object) -> object:
    """A scalar as a JSON-able value: dates as ISO strings (``YYYY-MM-DD`` at midnight), NaN/NaT as None."""
    if value is None:
        return None
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        if pd.isna(value):
            return None
        ts = pd.Timestamp(value)
        return ts.date().isoformat() if ts == ts.normalize() and ts.tzinfo is None else ts.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (str, int, bool)):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)
