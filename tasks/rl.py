"""Prefect tasks around :func:`hrl_sarp.rl.runner.run_phase` (Phases 3-5) and a summary artifact.

Each phase task reads the previous phase's checkpoints from the warehouse, so the tasks pass only the config and
plain summaries (JSON-safe) between them.
"""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.artifacts import create_table_artifact

from hrl_sarp.config import Config
from hrl_sarp.rl.runner import public, run_phase


@task(name="rl-macro-ppo")
def macro_rl_task(cfg: Config, parent_run_id: str | None = None) -> dict[str, Any]:
    """Phase 3: macro PPO from the Phase 1 weights with the Phase 2 micro frozen; returns the stage summary."""
    return public(run_phase(cfg, 3, parent_run_id=parent_run_id))


@task(name="rl-micro-td3-her")
def micro_rl_task(cfg: Config, parent_run_id: str | None = None) -> dict[str, Any]:
    """Phase 4: micro TD3 + HER from the Phase 2 weights under the frozen Phase 3 macro's goals."""
    return public(run_phase(cfg, 4, parent_run_id=parent_run_id))


@task(name="rl-joint-finetune")
def joint_rl_task(cfg: Config, parent_run_id: str | None = None) -> dict[str, Any]:
    """Phase 5: alternating macro/micro rounds, early stopping on validation Sharpe."""
    return public(run_phase(cfg, 5, parent_run_id=parent_run_id))


PHASE_TASKS = {3: macro_rl_task, 4: micro_rl_task, 5: joint_rl_task}

SUMMARY_KEYS = (
    "val_sharpe",
    "val_sharpe_phase2_only",
    "val_sharpe_equal_weight",
    "val_total_return",
    "val_regime_accuracy",
    "best_round",
    "curriculum_stage",
    "seconds",
)


@task(name="publish-rl-summary")
def publish_rl_summary_task(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One table artifact row per (seed, curriculum, phase): validation Sharpe beside Phase-2-only and equal weight."""
    rows = [
        {
            "seed": r.get("seed"),
            "curriculum": r.get("curriculum"),
            "stage": r["stage"],
            **{k: r[k] for k in SUMMARY_KEYS if k in r},
        }
        for r in results
    ]
    create_table_artifact(rows, key="rl-summary", description="Phases 3-5: validation Sharpe vs baselines")
    return rows
