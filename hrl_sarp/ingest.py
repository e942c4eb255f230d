"""Ingestion: read a source, validate it, load it into the warehouse in one transaction.

The pipeline is ``read_source -> validate_market -> load_batch``:

- :func:`prepare` reads and validates a batch (nothing touches the warehouse) and returns a :class:`PreparedBatch`,
  which can be staged to disk (:meth:`PreparedBatch.save`) so that Prefect tasks pass a path, not frames.
- :func:`load_batch` upserts every raw table, the quarantine rows and the ``ingestion_runs`` row in ONE
  transaction: a crash part-way leaves the warehouse exactly as before. Loading is idempotent: re-loading the same
  batch changes no row (``rows_loaded == 0``), keeps the snapshot hash and adds no quarantine rows (they are keyed by
  a content hash). Each run is logged in ``ingestion_runs``: a ``running`` row in its own small transaction first,
  turned ``ok`` inside the load transaction, or ``failed`` in a separate transaction after a rollback; a row left
  ``running`` marks a process that died mid-load.
- :func:`ingest` is the whole pipeline (what ``hrl-sarp ingest`` runs); :func:`validate` is the report-only
  variant behind ``hrl-sarp validate-data``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import pickle
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from hrl_sarp import warehouse as wh
from hrl_sarp.config import Config
from hrl_sarp.data.benchmark import choose_benchmark
from hrl_sarp.data.market import RawMarket, Rejection
from hrl_sarp.data.sources import DateLike, read_source
from hrl_sarp.domain import TABLE_COLUMNS, TABLE_KEYS
from hrl_sarp.errors import NoValidDataError

MAX_MESSAGES = 20
QUARANTINE_COLUMNS = [
    "quarantine_id", "run_id", "source", "table_name", "file", "row_number", "column_name", "reason", "payload",
    "quarantined_at",
]  # fmt: skip


@dataclass
class PreparedBatch:
    """A read and validated batch: clean frames in the warehouse layout plus every rejected row."""

    source: str
    location: str
    market: RawMarket
    rejections: list[Rejection]
    rows_read: int
    warnings: list[str] = field(default_factory=list)
    duplicates_collapsed: int = 0

    @property
    def rows_valid(self) -> dict[str, int]:
        return self.market.row_counts()

    @property
    def rows_rejected(self) -> int:
        """Input rows rejected: one per row-level rejection, the lost row count per whole-file rejection."""
        return _rejected_rows(self.rejections)

    def save(self, path: str | Path) -> Path:
        """Stage the batch to ``path`` (a pickle: raw frames may hold mixed types that Parquet refuses)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            pickle.dump(self, handle, protocol=pickle.HIGHEST_PROTOCOL)
        return path

    @staticmethod
    def load(path: str | Path) -> PreparedBatch:
        with Path(path).open("rb") as handle:
            batch = pickle.load(handle)
        if not isinstance(batch, PreparedBatch):
            raise TypeError(f"{path} does not hold a PreparedBatch")
        return batch


@dataclass
class IngestSummary:
    """What one ingestion did.

    ``rows_read == rows_valid + rows_rejected + duplicates_collapsed``; ``rows_loaded`` counts the valid rows that
    were new or changed in the warehouse (0 on an identical re-run); ``rows_quarantined`` the quarantine rows that
    were new (a whole unreadable file is one quarantine row).
    """

    run_id: str
    source: str
    location: str
    warehouse: str
    rows_read: int
    rows_valid: int
    rows_loaded: int
    rows_rejected: int
    duplicates_collapsed: int
    rows_quarantined: int
    snapshot: str
    table_counts: dict[str, int]
    loaded_by_table: dict[str, int]
    rejections: list[str]
    warnings: list[str]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def describe_location(cfg: Config, source: str, path: str | Path | None) -> str:
    if source == "synthetic":
        return f"synthetic seed={cfg.data.synthetic.seed}"
    if path is not None or cfg.data.path is not None:
        return str(Path(path if path is not None else cfg.data.path).expanduser().resolve())
    return "default universe"


def read_batch(
    cfg: Config,
    source: str | None = None,
    path: str | Path | None = None,
    start: DateLike = None,
    end: DateLike = None,
) -> PreparedBatch:
    """Read ``source`` (not yet validated): the raw frames and the rows the reader itself could not parse."""
    source = source or cfg.data.source
    with _captured_warnings() as warnings:
        raw, read_rejections = read_source(cfg, source, path, start, end)
    return PreparedBatch(
        source=source,
        location=describe_location(cfg, source, path),
        market=raw,
        rejections=list(read_rejections),
        rows_read=sum(raw.row_counts().values()) + _rejected_rows(read_rejections),
        warnings=warnings,
    )


def validate_batch(cfg: Config, batch: PreparedBatch, known_symbols: set[str] | None = None) -> PreparedBatch:
    """Validate a read batch: rows that fail go to ``rejections`` with a reason, the rest stay, typed.

    ``known_symbols`` (symbols already in the warehouse) satisfy the securities reference check.
    """
    from hrl_sarp.data.validation import validate_report

    with _captured_warnings() as warnings:
        report = validate_report(batch.market, batch.source, known_symbols=known_symbols)
    clean, duplicates = _reject_duplicate_keys(report.market, batch.source)
    return PreparedBatch(
        source=batch.source,
        location=batch.location,
        market=clean,
        rejections=[*batch.rejections, *report.rejections, *duplicates],
        rows_read=batch.rows_read,
        warnings=[*batch.warnings, *warnings, *_warnings(cfg, clean)],
        duplicates_collapsed=batch.duplicates_collapsed + sum(report.duplicates_collapsed.values()),
    )


def prepare(
    cfg: Config,
    source: str | None = None,
    path: str | Path | None = None,
    start: DateLike = None,
    end: DateLike = None,
    known_symbols: set[str] | None = None,
) -> PreparedBatch:
    """Read and validate ``source`` (:func:`read_batch` then :func:`validate_batch`); touches no warehouse."""
    return validate_batch(cfg, read_batch(cfg, source, path, start, end), known_symbols)


def ingest(
    cfg: Config,
    source: str | None = None,
    path: str | Path | None = None,
    start: DateLike = None,
    end: DateLike = None,
    progress: bool = True,
) -> IngestSummary:
    """Read, validate and load one batch into ``cfg.warehouse_path()``.

    Raises :class:`~hrl_sarp.errors.WarehouseLockedError` before reading anything when another process holds the
    warehouse, and :class:`~hrl_sarp.errors.NoValidDataError` (after quarantining the rejects) when no valid price
    row is left.
    """
    began = time.perf_counter()
    con = wh.connect(cfg.warehouse_path())  # fail fast on a locked warehouse, before a slow read
    try:
        batch = prepare(cfg, source, path, start, end, known_symbols=warehouse_symbols(con))
        summary = load_batch(cfg, batch, progress=progress, con=con)
    finally:
        con.close()
    summary.seconds = round(time.perf_counter() - began, 3)  # the whole run, not just the load
    return summary


def load_batch(
    cfg: Config,
    batch: PreparedBatch,
    progress: bool = True,
    con: duckdb.DuckDBPyConnection | None = None,
) -> IngestSummary:
    """Upsert a prepared batch, its quarantine rows and its run record in one transaction (see module doc)."""
    began = time.perf_counter()
    own = con is None
    if own:
        con = wh.connect(cfg.warehouse_path())
    run_id = new_run_id()
    rows_rejected = batch.rows_rejected
    try:
        with wh.transaction(con):
            wh.execute(
                con,
                "INSERT INTO ingestion_runs (run_id, source, location, started_at, status, rows_read, "
                "rows_rejected) VALUES (?, ?, ?, ?, 'running', ?, ?)",
                [run_id, batch.source, batch.location, _now(), batch.rows_read, rows_rejected],
            )
        try:
            if batch.rows_valid.get("prices", 0) == 0:  # quarantine the rejects, record the failure, load nothing
                with wh.transaction(con):
                    _quarantine(con, run_id, batch.rejections)
                    _finish_run(con, run_id, "failed", rows_loaded=0, snapshot=None)
                raise NoValidDataError(_nothing_valid_message(batch))
            with wh.transaction(con):
                loaded = {}
                tables = [(t, f) for t, f in batch.market.tables().items() if not f.empty]
                for table, frame in _progress(tables, progress, "loading tables"):
                    loaded[table] = wh.upsert(con, table, frame[TABLE_COLUMNS[table]], TABLE_KEYS[table])
                quarantined = _quarantine(con, run_id, batch.rejections)
                snapshot = wh.snapshot_hash(con)
                _finish_run(con, run_id, "ok", rows_loaded=sum(loaded.values()), snapshot=snapshot)
        except NoValidDataError:
            raise
        except BaseException:
            _mark_failed(con, run_id)
            raise
        counts = wh.row_counts(con)
    finally:
        if own:
            con.close()
    return IngestSummary(
        run_id=run_id,
        source=batch.source,
        location=batch.location,
        warehouse=str(cfg.warehouse_path()),
        rows_read=batch.rows_read,
        rows_valid=sum(batch.rows_valid.values()),
        rows_loaded=sum(loaded.values()),
        rows_rejected=rows_rejected,
        duplicates_collapsed=batch.duplicates_collapsed,
        rows_quarantined=quarantined,
        snapshot=snapshot,
        table_counts=counts,
        loaded_by_table={t: loaded.get(t, 0) for t in TABLE_COLUMNS},
        rejections=[describe(r) for r in batch.rejections[:MAX_MESSAGES]],
        warnings=batch.warnings,
        seconds=round(time.perf_counter() - began, 3),
    )


def validation_report(batch: PreparedBatch) -> dict[str, Any]:
    """What an ingestion of ``batch`` would load and reject (writes nothing, needs no warehouse).

    ``exit_code`` is 0 when every row is valid and 1 when some rows would be quarantined; nothing valid at all
    raises :class:`~hrl_sarp.errors.NoValidDataError`. :func:`hrl_sarp.preflight.check_data` adds the later stages.
    """
    if batch.rows_valid.get("prices", 0) == 0:
        raise NoValidDataError(_nothing_valid_message(batch))
    return {
        "source": batch.source,
        "location": batch.location,
        "rows_read": batch.rows_read,
        "rows_valid": sum(batch.rows_valid.values()),
        "rows_rejected": batch.rows_rejected,
        "duplicates_collapsed": batch.duplicates_collapsed,
        "valid_by_table": batch.rows_valid,
        "rejected_by_table": _rejected_by_table(batch.rejections),
        "rejections": [describe(r) for r in batch.rejections[:MAX_MESSAGES]],
        "warnings": batch.warnings,
        "exit_code": 1 if batch.rejections else 0,
    }


def describe(rejection: Rejection) -> str:
    """One line: ``file:row: column 'c': reason`` (``source/table`` stands in when there is no file)."""
    text = rejection.message()
    if rejection.file is None:
        text = f"{rejection.source}/{rejection.table}" + text.removeprefix("<input>")
    return " ".join(text.split())


def quarantine_id(rejection: Rejection) -> str:
    """Content hash of a rejection: the same bad row rejected for the same reason always gets the same id."""
    parts = [
        rejection.source, rejection.table, rejection.file, rejection.row, rejection.column, rejection.reason,
        _payload_json(rejection.payload),
    ]  # fmt: skip
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:32]


def warehouse_symbols(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Symbols already in the warehouse's securities table (empty before the first ingestion)."""
    if not wh.table_exists(con, "securities"):
        return set()
    return {row[0] for row in con.execute("SELECT symbol FROM securities").fetchall()}


def known_symbols(cfg: Config) -> set[str]:
    """:func:`warehouse_symbols` of ``cfg``'s warehouse, read-only; empty when the warehouse does not exist yet."""
    path = cfg.warehouse_path()
    if not path.exists():
        return set()
    with wh.open_warehouse(path, read_only=True) as con:
        return warehouse_symbols(con)


def new_run_id() -> str:
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


# --- internals -------------------------------------------------------------------------------------------------


def _rejected_rows(rejections: list[Rejection]) -> int:
    """One per row-level rejection; ``payload['rows']`` (the rows lost, when known) per whole-file rejection."""
    total = 0
    for rejection in rejections:
        total += 1 if rejection.row is not None else int(rejection.payload.get("rows") or 1)
    return total


@contextlib.contextmanager
def _captured_warnings() -> Iterator[list[str]]:
    """Collect WARNING records of the library's loggers (e.g. "no volume column") into the run summary."""
    found: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            found.append(" ".join(record.getMessage().split()))

    handler = _Collect(logging.WARNING)
    logger = logging.getLogger("hrl_sarp")
    logger.addHandler(handler)
    try:
        yield found
    finally:
        logger.removeHandler(handler)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _payload_json(payload: dict) -> str:
    return json.dumps(payload, default=str, sort_keys=True)


def _quarantine(con: duckdb.DuckDBPyConnection, run_id: str, rejections: list[Rejection]) -> int:
    """Insert rejections not already quarantined (by content hash); returns how many were new."""
    if not rejections:
        return 0
    frame = pd.DataFrame(
        {
            "quarantine_id": [quarantine_id(r) for r in rejections],
            "run_id": run_id,
            "source": [r.source for r in rejections],
            "table_name": [r.table for r in rejections],
            "file": pd.array([r.file for r in rejections], dtype="object"),
            "row_number": pd.array([r.row for r in rejections], dtype="Int64"),
            "column_name": pd.array([r.column for r in rejections], dtype="object"),
            "reason": [" ".join(str(r.reason).split()) for r in rejections],
            "payload": [_payload_json(r.payload) for r in rejections],
            "quarantined_at": _now(),
        }
    ).drop_duplicates("quarantine_id")
    before = wh.fetch_one(con, "SELECT count(*) FROM quarantine")[0]
    con.register("_quarantine_frame", frame)
    try:
        cols = ", ".join(QUARANTINE_COLUMNS)
        wh.execute(con, f"INSERT OR IGNORE INTO quarantine ({cols}) SELECT {cols} FROM _quarantine_frame")
    finally:
        con.unregister("_quarantine_frame")
    return int(wh.fetch_one(con, "SELECT count(*) FROM quarantine")[0] - before)


def _finish_run(con: duckdb.DuckDBPyConnection, run_id: str, status: str, rows_loaded: int, snapshot) -> None:
    wh.execute(
        con,
        "UPDATE ingestion_runs SET status = ?, finished_at = ?, rows_loaded = ?, snapshot = ? WHERE run_id = ?",
        [status, _now(), rows_loaded, snapshot, run_id],
    )


def _mark_failed(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Record a failed load in its own transaction (the load transaction has already rolled back)."""
    try:
        with wh.transaction(con):
            _finish_run(con, run_id, "failed", rows_loaded=0, snapshot=None)
    except Exception as exc:  # best effort: never mask the error that failed the load, but say it happened
        logging.getLogger("hrl_sarp").warning(
            "could not mark ingestion run %s as failed (%s: %s)", run_id, type(exc).__name__, exc
        )


def _reject_duplicate_keys(market: RawMarket, source: str) -> tuple[RawMarket, list[Rejection]]:
    """Keep the last row per natural key; earlier duplicates become rejections (validation normally did this)."""
    tables, rejections = {}, []
    for table, frame in market.tables().items():
        key = TABLE_KEYS[table]
        if frame.empty or not set(key) <= set(frame.columns):
            tables[table] = frame
            continue
        dup = frame.duplicated(key, keep="last")
        if dup.any():
            for _, row in frame.loc[dup].iterrows():
                where = ", ".join(f"{k}={row[k]}" for k in key)
                rejections.append(
                    Rejection(source, table, None, None, None, f"duplicate key ({where}); the last row was kept",
                              {c: row[c] for c in frame.columns})
                )  # fmt: skip
            frame = frame.loc[~dup].reset_index(drop=True)
        tables[table] = frame
    return RawMarket(**tables), rejections


def _warnings(cfg: Config, market: RawMarket) -> list[str]:
    found = []
    securities = market.securities
    if securities.empty:
        return found
    indices = securities[securities["kind"] == "index"]
    stock_sectors = set(securities.loc[securities["kind"] == "stock", "sector"].dropna())
    sectors = {
        s: (None if pd.isna(sector) else str(sector))
        for s, sector in zip(indices["symbol"], indices["sector"], strict=True)
    }
    choice = choose_benchmark(cfg.data.benchmark, sectors, stock_sectors)
    if choice.symbol is None:
        found.append(f"benchmark: {choice.how}")
    return found


def _nothing_valid_message(batch: PreparedBatch) -> str:
    reasons = "; ".join(describe(r) for r in batch.rejections[:3]) or "the source returned no price rows"
    return (
        f"nothing valid to load from {batch.source} ({batch.location}): no valid price rows, "
        f"{batch.rows_rejected} rows rejected; first reasons: {reasons}"
    )


def _rejected_by_table(rejections: list[Rejection]) -> dict[str, int]:
    counts = {t: 0 for t in TABLE_COLUMNS}
    for r in rejections:
        counts[r.table] = counts.get(r.table, 0) + 1
    return counts


def _progress(items: list, enabled: bool, desc: str):
    """tqdm on stderr, only for an interactive terminal."""
    if not enabled or not sys.stderr.isatty():
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, file=sys.stderr, unit="table", leave=False)
