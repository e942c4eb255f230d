"""Run one pretraining phase end to end: load the feature build (and GNN embeddings), train, checkpoint, record.

This is the library call behind ``hrl-sarp train --phase 1|2`` and the ``pretrain`` flow's tasks. Records:

- the checkpoint ``<pretrain.output_dir>/<stage>/<config_hash>_<build_id>/<stage>.pt`` (plus the loss-curve PNG
  and the resolved config YAML next to it);
- MLflow: a nested stage run (``pretrain_macro`` / ``pretrain_micro``) under the pipeline's parent run (opened here
  when none is active), per-epoch metrics ``<stage>/<name>`` with ``step = epoch``, the best-epoch summary as
  ``<stage>/summary/<name>``, artifacts ``checkpoints/``, ``plots/``, ``config/``, tags ``build_id``, ``data_snapshot_hash``;
- the warehouse row ``model_checkpoints(stage, config_hash, build_id, path, mlflow_run_id, metrics)`` that Phase 3/4
  read through :func:`latest_checkpoint`;
- progress: INFO lines on logger ``hrl_sarp.training.runner``, ``macro epoch 3/200: train_loss 0.512 val_loss 0.498
  ...`` (about 30 per fit, :func:`hrl_sarp.logs.epoch_due`) and one ``... done`` line with the best epoch.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hrl_sarp.config import Config, output_path
from hrl_sarp.errors import WarehouseStateError
from hrl_sarp.logs import epoch_due, format_metrics

STAGES = {1: "pretrain_macro", 2: "pretrain_micro"}
# The per-epoch metrics a progress line shows (all of them go to MLflow).
PROGRESS_METRICS = {
    1: ("train_loss", "val_loss", "val_regime_accuracy", "val_rank_ic"),
    2: ("train_loss", "val_loss", "val_excess_return", "val_within_sector_ic"),
}
log = logging.getLogger(__name__)


@dataclass
class PretrainInputs:
    arrays: Any  # FeatureArrays
    snapshot: str | None
    week_dates: np.ndarray | None = None  # (W_e,) Phase 1 only
    embeddings: np.ndarray | None = None  # (W_e, S, D') Phase 1 only: the macro agent's sector block
    # (rl.inputs.macro_sector_inputs: GNN embedding and sector features at each embedding date)
    gnn_model_version: str | None = None


def load_inputs(cfg: Config, phase: int) -> PretrainInputs:
    """Read the latest feature build (and, for Phase 1, its GNN embeddings) from the warehouse, read-only."""
    from hrl_sarp.features.loader import load_feature_arrays
    from hrl_sarp.warehouse import fetch_one, open_warehouse, table_exists

    with open_warehouse(cfg.warehouse_path(), read_only=True) as con:
        arrays = load_feature_arrays(con)
        snapshot = None
        if table_exists(con, "feature_builds"):
            row = fetch_one(con, "SELECT snapshot FROM feature_builds WHERE build_id = ?", [arrays.build_id])
            snapshot = row[0] if row else None
        if phase != 1:
            return PretrainInputs(arrays, snapshot)
        from hrl_sarp.gnn import load_embeddings

        week_dates, sectors, embeddings, version = load_embeddings(con, build_id=arrays.build_id)
    if list(sectors) != list(arrays.sectors):
        raise WarehouseStateError(
            "sector embeddings and the feature build disagree on the sectors: re-run `hrl-sarp fit-gnn`"
        )
    from hrl_sarp.rl.inputs import macro_sector_inputs

    dates = np.asarray(arrays.dates).astype("datetime64[D]")
    rows = np.searchsorted(dates, np.asarray(week_dates).astype("datetime64[D]"), side="right") - 1
    embeddings = macro_sector_inputs(cfg, arrays, np.asarray(embeddings), np.maximum(rows, 0))
    embeddings[rows < 0] = np.nan  # an embedding dated before the build's first date has no sector features yet
    return PretrainInputs(arrays, snapshot, np.asarray(week_dates), embeddings, str(version))


def checkpoint_dir(cfg: Config, stage: str, build_id: str) -> Path:
    root = output_path(cfg.pretrain.output_dir)
    return root / stage / f"{cfg.config_hash()}_{build_id}"


def run_pretrain(
    cfg: Config, phase: int, inputs: PretrainInputs | None = None, parent_run_id: str | None = None
) -> dict[str, Any]:
    """Train Phase ``phase`` (1 macro, 2 micro) and record everything; returns the summary dict.

    ``inputs`` default to :func:`load_inputs`; ``parent_run_id`` joins an existing MLflow parent run (a flow's).
    """
    from hrl_sarp import tracking
    from hrl_sarp.policies.checkpoint import save_checkpoint
    from hrl_sarp.training.pretrain import pretrain_macro, pretrain_micro

    if phase not in STAGES:
        raise WarehouseStateError(f"phase {phase} is not a pretraining phase (1 or 2)")
    stage = STAGES[phase]
    inputs = inputs or load_inputs(cfg, phase)
    arrays = inputs.arrays
    tags = {"build_id": arrays.build_id, tracking.SNAPSHOT_TAG: inputs.snapshot}
    if inputs.gnn_model_version:
        tags["gnn_model_version"] = inputs.gnn_model_version
    tags = {k: str(v) for k, v in tags.items() if v is not None}
    name = "macro" if phase == 1 else "micro"
    epochs = cfg.pretrain.macro_epochs if phase == 1 else cfg.pretrain.micro_epochs
    with tracking.stage_run(cfg, stage, tags=tags, parent_run_id=parent_run_id) as run:

        def on_epoch(epoch: int, metrics: dict[str, float]) -> None:
            tracking.log_metrics({f"{stage}/{k}": v for k, v in metrics.items()}, step=epoch)
            if epoch_due(epoch, epochs):
                log.info(
                    "%s epoch %d/%d: %s", name, epoch + 1, epochs, format_metrics(metrics, PROGRESS_METRICS[phase])
                )

        log.info("%s pretraining: up to %d epochs on build %s", name, epochs, arrays.build_id)
        if phase == 1:
            result = pretrain_macro(arrays, inputs.week_dates, inputs.embeddings, cfg, on_epoch=on_epoch)
        else:
            result = pretrain_micro(arrays, cfg, on_epoch=on_epoch)
        log.info(
            "%s pretraining done: %d/%d epochs, best epoch %d (%s)",
            name,
            result.summary["epochs_run"],
            epochs,
            result.summary["best_epoch"],
            format_metrics(result.summary, PROGRESS_METRICS[phase]),
        )
        folder = checkpoint_dir(cfg, stage, arrays.build_id)
        meta = {
            "stage": stage,
            "config_hash": cfg.config_hash(),
            "build_id": arrays.build_id,
            "data_snapshot_hash": inputs.snapshot,
            "gnn_model_version": inputs.gnn_model_version,
            "mlflow_run_id": run.info.run_id,
            "summary": result.summary,
            "sectors": [str(s) for s in arrays.sectors],
            "symbols": [str(s) for s in arrays.symbols],
            "logit_scale": cfg.env.logit_scale,
        }
        path = save_checkpoint(folder / f"{stage}.pt", result.kind, result.network, result.kwargs, meta)
        loss_keys = [k for k in result.history if k.endswith("loss")]
        plot = tracking.save_loss_curves(
            {k: result.history[k] for k in loss_keys}, folder / f"{stage}_loss.png", title=f"{stage} losses"
        )
        config_file = tracking.write_config_yaml(cfg, folder / "config.yaml")
        scalar = {f"{stage}/summary/{k}": v for k, v in result.summary.items() if isinstance(v, int | float)}
        tracking.log_metrics(scalar)
        tracking.log_artifact(path, "checkpoints")
        tracking.log_artifact(plot, "plots")
        tracking.log_artifact(config_file, "config")
        run_id = run.info.run_id
    record_checkpoint(cfg, stage, arrays.build_id, path, run_id, result.summary)
    return {
        "stage": stage,
        **result.summary,
        "checkpoint": str(path),
        "mlflow_run_id": run_id,
        "build_id": arrays.build_id,
    }


def record_checkpoint(
    cfg: Config, stage: str, build_id: str, path: Path, run_id: str, summary: dict | None = None
) -> None:
    """Upsert one row of ``model_checkpoints`` (key: stage, config hash, build) for a checkpoint file."""
    import pandas as pd

    from hrl_sarp.warehouse import open_warehouse, transaction, upsert

    frame = pd.DataFrame(
        [
            {
                "stage": stage,
                "config_hash": cfg.config_hash(),
                "build_id": build_id,
                "path": str(path),
                "mlflow_run_id": run_id,
                "metrics": json.dumps(summary or {}, default=str),
                "created_at": pd.Timestamp.now(tz="UTC").tz_localize(None),
            }
        ]
    )
    with open_warehouse(cfg.warehouse_path()) as con, transaction(con):
        upsert(con, "model_checkpoints", frame, key=["stage", "config_hash", "build_id"])


def latest_checkpoint(cfg: Config, stage: str, build_id: str | None = None, same_config: bool = False) -> Path:
    """The newest checkpoint of ``stage`` (for one feature build and/or this exact config hash, when asked)."""
    from hrl_sarp.warehouse import open_warehouse, table_exists

    phase = {v: k for k, v in STAGES.items()}.get(stage)
    hint = f"run `hrl-sarp train --phase {phase}` first" if phase else f"run stage {stage} first"
    with open_warehouse(cfg.warehouse_path(), read_only=True) as con:
        if not table_exists(con, "model_checkpoints"):
            raise WarehouseStateError(f"no {stage} checkpoint in the warehouse: {hint}")
        sql = "SELECT path FROM model_checkpoints WHERE stage = ?"
        params: list[Any] = [stage]
        if same_config:
            sql += " AND config_hash = ?"
            params.append(cfg.config_hash())
        if build_id is not None:
            sql += " AND build_id = ?"
            params.append(build_id)
        rows = con.execute(sql + " ORDER BY created_at DESC LIMIT 1", params).fetchall()
    if not rows:
        raise WarehouseStateError(f"no matching {stage} checkpoint in the warehouse: {hint}")
    return Path(rows[0][0])


def checkpoints_present(con: Any, summary: dict[str, Any]) -> bool:
    """Whether every checkpoint a pretraining summary names is still recorded in ``model_checkpoints`` and on disk.

    ``summary``: one :func:`run_pretrain` summary, or the ``pretrain`` flow's report (``runs`` = a list of them).
    For a pipeline's cache check (``con`` may be read-only).
    """
    from hrl_sarp.warehouse import fetch_one, table_exists

    runs = summary.get("runs") or [summary]
    paths = [r.get("checkpoint") for r in runs if isinstance(r, dict)]
    if not paths or None in paths or not table_exists(con, "model_checkpoints"):
        return False
    for path in paths:
        if (
            not Path(path).exists()
            or not fetch_one(con, "SELECT count(*) FROM model_checkpoints WHERE path = ?", [path])[0]
        ):
            return False
    return True
