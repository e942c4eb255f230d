"""What Phases 3-5 read: the feature build, the sector embeddings aligned to its weeks, and the time split.

Shapes: T dates, N stocks, S sectors, W weeks of the build (``arrays.week_end_index``), W_e embedded GNN weeks,
D embedding dims.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hrl_sarp.config import Config
from hrl_sarp.errors import InputError, WarehouseStateError
from hrl_sarp.features.arrays import FeatureArrays
from hrl_sarp.training.pretrain import time_split


@dataclass(frozen=True)
class RlInputs:
    arrays: FeatureArrays
    embeddings: np.ndarray  # (W, S, D) GNN embeddings aligned with arrays.week_end_index; NaN before the first
    macro_inputs: np.ndarray  # (W, S, D' + G) what the macro agent observes per sector (:func:`macro_sector_inputs`)
    train_range: tuple[int, int]  # (first, last) rows training episodes may touch
    val_range: tuple[int, int]  # (first, last) rows of the validation rollout
    snapshot: str | None = None
    gnn_model_version: str | None = None


def align_embeddings(arrays: FeatureArrays, week_dates: np.ndarray, embeddings: np.ndarray) -> np.ndarray:
    """(W, S, D): for each week end of the build, the latest GNN embedding dated at or before it (NaN before the
    first), so that MacroEnv's row t sees what Phase 1 saw at t. ``week_dates (W_e,)``, ``embeddings (W_e, S, D)``."""
    if embeddings.ndim != 3 or embeddings.shape[1] != arrays.n_sectors:
        raise InputError(f"embeddings have shape {embeddings.shape}, expected (weeks, {arrays.n_sectors}, D)")
    week_dates = np.asarray(week_dates).astype("datetime64[D]")
    order = np.argsort(week_dates, kind="stable")
    week_dates, embeddings = week_dates[order], embeddings[order]
    ends = arrays.dates.astype("datetime64[D]")[np.asarray(arrays.week_end_index, dtype=np.int64)]
    idx = np.searchsorted(week_dates, ends, side="right") - 1
    out = np.full((len(ends), *embeddings.shape[1:]), np.nan)
    out[idx >= 0] = embeddings[idx[idx >= 0]]
    return out


def macro_sector_inputs(cfg: Config, arrays: FeatureArrays, embeddings: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """What the macro agent observes per sector, ``(K, S, D' + G)``: the GNN embeddings ``(K, S, D)`` dated at
    ``rows (K,)`` (all D, or none when ``env.macro_embeddings`` is off) followed by the build's G sector features
    at the same rows (none when ``env.macro_sector_features`` is off). The one place that assembles this block."""
    parts = [embeddings if cfg.env.macro_embeddings else embeddings[..., :0]]
    if cfg.env.macro_sector_features:
        parts.append(arrays.sector_inputs(rows))
    return np.concatenate(parts, axis=-1)


def week_sector_inputs(cfg: Config, arrays: FeatureArrays, embeddings: np.ndarray | None) -> np.ndarray:
    """:func:`macro_sector_inputs` at every week end of the build for ``embeddings (W, S, D)`` aligned with
    ``arrays.week_end_index`` (None: no embeddings)."""
    weeks = np.asarray(arrays.week_end_index, dtype=np.int64)
    if embeddings is None:
        embeddings = np.zeros((len(weeks), arrays.n_sectors, 0))
    return macro_sector_inputs(cfg, arrays, embeddings, weeks)


def make_inputs(
    arrays: FeatureArrays,
    embeddings: np.ndarray,
    cfg: Config,
    snapshot: str | None = None,
    gnn_model_version: str | None = None,
) -> RlInputs:
    """Training rows start at the first week with an embedding and end before the validation embargo."""
    split = time_split(arrays.n_dates, cfg.splits)
    weeks = np.asarray(arrays.week_end_index, dtype=np.int64)
    embedded = np.isfinite(embeddings).all(axis=(1, 2))
    first = int(weeks[np.argmax(embedded)]) if embedded.any() else 0
    train = (first, split.train_end - 1)
    val = (split.val_start, split.val_end - 1)
    need = cfg.env.macro_step_days * 2
    if train[1] - train[0] < need or val[1] - val[0] < need:
        raise InputError(f"too few dates for RL: training rows {train}, validation rows {val}")
    # the rows stay those of the embedded weeks either way, so runs with and without embeddings compare
    macro_inputs = week_sector_inputs(cfg, arrays, embeddings)
    return RlInputs(arrays, embeddings, macro_inputs, train, val, snapshot, gnn_model_version)


def load_rl_inputs(cfg: Config) -> RlInputs:
    """The latest feature build and its GNN embeddings from the warehouse (read-only)."""
    from hrl_sarp.gnn import load_embeddings
    from hrl_sarp.training.runner import load_inputs

    base = load_inputs(cfg, 2)
    from hrl_sarp.warehouse import open_warehouse

    with open_warehouse(cfg.warehouse_path(), read_only=True) as con:
        week_dates, sectors, emb, version = load_embeddings(con, build_id=base.arrays.build_id)
    if list(sectors) != list(base.arrays.sectors):
        raise WarehouseStateError("sector embeddings and the feature build disagree on the sectors: re-run fit-gnn")
    aligned = align_embeddings(base.arrays, np.asarray(week_dates), np.asarray(emb))
    return make_inputs(base.arrays, aligned, cfg, base.snapshot, str(version))
