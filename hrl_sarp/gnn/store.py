"""Warehouse I/O of the sector GNN: model versions, writing and loading weekly sector embeddings.

Shapes: W weeks, S sectors, D embedding dims.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from hrl_sarp import warehouse as wh
from hrl_sarp.config import Config
from hrl_sarp.errors import WarehouseStateError


def gnn_config_hash(cfg: Config) -> str:
    """Hash of everything that shapes the embeddings apart from the data: gnn and split config, seed."""
    payload = {
        "gnn": cfg.gnn.model_dump(mode="json"),
        "train_fraction": cfg.splits.train_fraction,
        "seed": cfg.seed,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def model_version(build_id: str, cfg: Config) -> str:
    """``gnn-<hash>`` of (feature build id, gnn config, seed): same inputs, same version."""
    digest = hashlib.sha256(f"{build_id}|{gnn_config_hash(cfg)}".encode()).hexdigest()[:16]
    return f"gnn-{digest}"


def embeddings_frame(
    version: str,
    build_id: str,
    week_dates: np.ndarray,
    sectors: np.ndarray,
    embeddings: np.ndarray,
    embedded: np.ndarray,
) -> pd.DataFrame:
    """Long frame (one row per embedded week and sector) in the ``sector_embeddings`` layout.

    week_dates: (W,) datetime64; sectors: (S,); embeddings: (W, S, D); embedded: (W,) bool rows to keep.
    """
    weeks = np.flatnonzero(embedded)
    n_sectors = len(sectors)
    return pd.DataFrame(
        {
            "model_version": version,
            "build_id": build_id,
            "week_end": pd.to_datetime(np.repeat(np.asarray(week_dates)[weeks], n_sectors)).astype("datetime64[ns]"),
            "sector": np.tile(np.asarray(sectors, dtype=str), len(weeks)),
            "embedding": list(embeddings[weeks].reshape(len(weeks) * n_sectors, -1)),
        }
    )


def write_embeddings(
    con: duckdb.DuckDBPyConnection,
    frame: pd.DataFrame,
    version: str,
    build_id: str,
    config_hash: str,
    encoder: str,
    metrics: dict[str, Any],
) -> int:
    """Replace the rows of ``version`` in ``sector_embeddings`` and ``gnn_models`` in one transaction.

    ``frame`` must already be validated (:func:`schemas.embeddings.validate_embeddings`). Returns rows written.
    """
    dim = len(frame["embedding"].iloc[0]) if len(frame) else 0
    table = pa.table(
        {
            "model_version": pa.array(frame["model_version"].astype(str).tolist(), pa.string()),
            "build_id": pa.array(frame["build_id"].astype(str).tolist(), pa.string()),
            "week_end": pa.array(pd.to_datetime(frame["week_end"]).dt.date.tolist(), pa.date32()),
            "sector": pa.array(frame["sector"].astype(str).tolist(), pa.string()),
            "embedding": pa.FixedSizeListArray.from_arrays(
                pa.array(np.concatenate(frame["embedding"].to_list()) if dim else [], pa.float64()), dim
            ).cast(pa.list_(pa.float64())),
        }
    )
    with wh.transaction(con):
        wh.execute(con, "DELETE FROM sector_embeddings WHERE model_version = ?", [version])
        wh.execute(con, "DELETE FROM gnn_models WHERE model_version = ?", [version])
        con.register("_embedding_rows", table)
        try:
            wh.execute(
                con,
                "INSERT INTO sector_embeddings (model_version, build_id, week_end, sector, embedding) "
                "SELECT model_version, build_id, week_end, sector, embedding FROM _embedding_rows",
            )
        finally:
            con.unregister("_embedding_rows")
        wh.execute(
            con,
            "INSERT INTO gnn_models (model_version, build_id, config_hash, encoder, created_at, metrics) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [version, build_id, config_hash, encoder, dt.datetime.now(dt.UTC).replace(tzinfo=None),
             json.dumps(_json_safe(metrics))],
        )  # fmt: skip
    return len(frame)


def _json_safe(value: Any) -> Any:
    """NaN/inf become null (JSON has no NaN); NumPy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def latest_model_version(con: duckdb.DuckDBPyConnection, build_id: str | None = None) -> str:
    """The most recently written model version (for ``build_id`` when given)."""
    if not wh.table_exists(con, "gnn_models"):
        raise WarehouseStateError("warehouse has no sector embeddings: run `hrl-sarp fit-gnn` first")
    sql = "SELECT model_version FROM gnn_models"
    params: list[Any] = []
    if build_id is not None:
        sql += " WHERE build_id = ?"
        params.append(build_id)
    row = wh.fetch_one(con, sql + " ORDER BY created_at DESC, model_version LIMIT 1", params)
    if not row:
        which = f" for feature build {build_id}" if build_id else ""
        raise WarehouseStateError(f"no sector embeddings{which}: run `hrl-sarp fit-gnn` first")
    return str(row[0])


def load_embeddings(
    con: duckdb.DuckDBPyConnection, model_version: str | None = None, build_id: str | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Weekly sector embeddings of a model version (default: the latest, for ``build_id`` when given).

    Returns ``(week_dates (W,) datetime64[D], sectors (S,) str sorted, embeddings (W, S, D) float64, version)``.
    Only embedded weeks are present (the walk-forward fit embeds nothing before its first refit).
    """
    version = model_version or latest_model_version(con, build_id)
    frame = con.execute(
        "SELECT week_end, sector, embedding FROM sector_embeddings WHERE model_version = ? ORDER BY week_end, sector",
        [version],
    ).df()
    if frame.empty:
        raise WarehouseStateError(f"no sector embeddings for model version {version}: run `hrl-sarp fit-gnn`")
    weeks = np.unique(frame["week_end"].to_numpy().astype("datetime64[D]"))
    sectors = np.sort(frame["sector"].astype(str).unique())
    w_idx = np.searchsorted(weeks, frame["week_end"].to_numpy().astype("datetime64[D]"))
    s_idx = np.searchsorted(sectors, frame["sector"].astype(str).to_numpy())
    values = np.stack([np.asarray(v, dtype=np.float64) for v in frame["embedding"]])
    embeddings = np.full((len(weeks), len(sectors), values.shape[1]), np.nan)
    embeddings[w_idx, s_idx] = values
    if not np.isfinite(embeddings).all():
        raise WarehouseStateError(f"sector embeddings of {version} are incomplete: re-run `hrl-sarp fit-gnn`")
    return weeks, sectors, embeddings, version


def load_model_metrics(con: duckdb.DuckDBPyConnection, version: str) -> dict[str, Any]:
    row = wh.fetch_one(con, "SELECT metrics FROM gnn_models WHERE model_version = ?", [version])
    return json.loads(row[0]) if row and row[0] else {}
