"""Prefect tasks around :func:`hrl_sarp.training.runner.run_pretrain` (Phases 1 and 2) and a summary artifact."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.artifacts import create_table_artifact

from hrl_sarp.config import Config
from hrl_sarp.training.runner import run_pretrain


@task(name="pretrain-macro")
def pretrain_macro_task(cfg: Config, parent_run_id: str | None = None) -> dict[str, Any]:
    """Phase 1: macro supervised pretraining; returns the stage summary (metrics, checkpoint, MLflow run id)."""
    return run_pretrain(cfg, 1, parent_run_id=parent_run_id)


@task(name="pretrain-micro")
def pretrain_micro_task(cfg: Config, parent_run_id: str | None = None) -> dict[str, Any]:
    """Phase 2: micro supervised pretraining with sampled goals; returns the stage summary."""
    return run_pretrain(cfg, 2, parent_run_id=parent_run_id)


@task(name="publish-pretrain-summary")
def publish_pretrain_summary_task(results: list[dict[str, Any]]) -> None:
    """One table artifact row per (seed, stage) with the headline validation numbers."""
    keys = (
        "val_regime_accuracy",
        "majority_baseline_accuracy",
        "val_rank_ic",
        "val_return_goal_matched",
        "val_return_equal_weight",
        "val_excess_return",
        "best_epoch",
    )
    rows = [
        {"seed": r.get("seed"), "stage": r["stage"], **{k: r[k] for k in keys if k in r}, "checkpoint": r["checkpoint"]}
        for r in results
    ]
    create_table_artifact(rows, key="pretrain-summary", description="Phase 1/2 pretraining, validation metrics")
