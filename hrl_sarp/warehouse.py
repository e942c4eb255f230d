"""DuckDB warehouse access: connections, migrations, transactional upserts, snapshot hashes.

This module owns warehouse I/O. DDL and versioned migrations live in ``warehouse/migrations/NNN_name.sql`` at the
repository root and are applied in order, once each, recorded in ``schema_migrations``.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd

from hrl_sarp.config import REPO_ROOT
from hrl_sarp.domain import TABLE_COLUMNS, TABLE_KEYS
from hrl_sarp.errors import WarehouseLockedError, WarehouseStateError

MIGRATIONS_DIR = REPO_ROOT / "warehouse" / "migrations"
RAW_TABLES = list(TABLE_COLUMNS)
_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


def connect(path: str | Path, read_only: bool = False, migrate_schema: bool = True) -> duckdb.DuckDBPyConnection:
    """Open the warehouse; a writable connection applies pending migrations.

    Raises :class:`WarehouseLockedError` (one line) when another process holds the file.
    """
    path = Path(path)
    if read_only and not path.exists():
        raise WarehouseStateError(f"warehouse {path} does not exist yet: run `hrl-sarp ingest` first")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            holder = re.search(r"\(PID (\d+)\)", text)
            who = f" by process {holder.group(1)}" if holder else " by another process"
            raise WarehouseLockedError(
                f"warehouse {path} is locked{who}; wait for it to finish or use another --warehouse"
            ) from None
        raise WarehouseStateError(f"cannot open warehouse {path}: {text.splitlines()[0]}") from None
    if migrate_schema and not read_only:
        migrate(con)
    return con


@contextlib.contextmanager
def open_warehouse(path: str | Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(path, read_only=read_only)
    try:
        yield con
    finally:
        con.close()


def migration_files() -> list[tuple[int, Path]]:
    found = []
    for file in sorted(MIGRATIONS_DIR.glob("*.sql")):
        match = _MIGRATION_NAME.match(file.name)
        if not match:
            raise WarehouseStateError(f"{file}: migration files must be named NNN_name.sql")
        found.append((int(match.group(1)), file))
    return found


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply pending migrations in order, each in its own transaction. Returns the versions applied."""
    execute(
        con,
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, "
        "applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)",
    )
    done = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for version, file in migration_files():
        if version in done:
            continue
        with transaction(con):
            execute(con, file.read_text())
            execute(con, "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [version, file.name])
        applied.append(version)
    return applied


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN ... COMMIT, or ROLLBACK on any error so the warehouse stays consistent."""
    execute(con, "BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        execute(con, "ROLLBACK")
        raise
    execute(con, "COMMIT")


def upsert(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, key: list[str] | None = None) -> int:
    """Insert or replace rows by natural key; returns the number of rows that were new or changed.

    ``frame`` must carry the table's columns; run inside :func:`transaction` for atomicity.
    """
    if frame.empty:
        return 0
    columns = list(frame.columns)
    key = key or TABLE_KEYS[table]
    con.register("_upsert_frame", frame)
    try:
        cols = ", ".join(columns)
        join = " AND ".join(f"t.{k} = f.{k}" for k in key)
        same = " AND ".join(f"t.{c} IS NOT DISTINCT FROM f.{c}" for c in columns)
        changed = fetch_one(
            con,
            f"SELECT count(*) FROM _upsert_frame f WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {join} AND {same})",
        )[0]
        if changed:
            execute(con, f"INSERT OR REPLACE INTO {table} ({cols}) SELECT {cols} FROM _upsert_frame")
    finally:
        con.unregister("_upsert_frame")
    return int(changed)


def execute(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> None:
    """Run a statement whose result is not needed and drain it (DuckDB 2 streams results until fetched)."""
    con.execute(sql, params).fetchall()


def fetch_one(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> tuple:
    """First row of a query, with the result drained (``fetchone`` alone leaves it open in DuckDB 2)."""
    rows = con.execute(sql, params).fetchall()
    return rows[0] if rows else ()


def table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(fetch_one(con, "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table])[0])


def row_counts(con: duckdb.DuckDBPyConnection, tables: list[str] | None = None) -> dict[str, int]:
    return {t: int(fetch_one(con, f"SELECT count(*) FROM {t}")[0]) for t in (tables or RAW_TABLES)}


def table_hash(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """Order-independent content hash of a table (count + xor/sum of row hashes)."""
    cols = ", ".join(TABLE_COLUMNS.get(table) or [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()])
    count, xor, total = fetch_one(
        con,
        f"SELECT count(*), coalesce(bit_xor(h), 0), coalesce(sum(h::HUGEINT), 0) "
        f"FROM (SELECT hash({cols}) AS h FROM {table})",
    )
    return f"{count}:{xor}:{total}"


def snapshot_hash(con: duckdb.DuckDBPyConnection) -> str:
    """Hash of all raw data tables: identical data gives an identical snapshot, whatever the load order."""
    digest = hashlib.sha256()
    for table in RAW_TABLES:
        digest.update(f"{table}={table_hash(con, table)};".encode())
    return digest.hexdigest()[:16]


def latest_snapshot(con: duckdb.DuckDBPyConnection) -> str:
    """Snapshot of the current raw data (recomputed, so it is right even after manual edits)."""
    if not table_exists(con, "prices"):
        raise WarehouseStateError("warehouse has no raw tables: run `hrl-sarp ingest` first")
    return snapshot_hash(con)
