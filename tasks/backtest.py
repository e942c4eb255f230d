"""Prefect tasks around :mod:`hrl_sarp.backtest.stage`: system assembly, inputs, flat-RL training per fold and
seed, the backtest itself, and the report/MLflow/registry record with table and markdown artifacts.

Arrays travel between these tasks in memory (the flow runs them in one process, or pickled to Dask workers), so
none of them caches across runs (``NO_CACHE``): a cache key over arrays cannot be computed.
"""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from hrl_sarp.config import Config
from hrl_sarp.threads import TORCH_RNG_LOCK


@task(name="backtest-prepare-system", cache_policy=NO_CACHE)
def prepare_system_task(cfg: Config) -> tuple[str | None, str]:
    """The latest build's trained system folder (or None and why)."""
    from hrl_sarp.backtest.stage import prepare_system

    return prepare_system(cfg)


@task(name="backtest-prepare-seed-systems", cache_policy=NO_CACHE)
def prepare_seed_systems_task(cfg: Config) -> dict[int, str]:
    """Systems trained with the other seeds of this config (for HRL-SARP's mean and spread over seeds)."""
    from hrl_sarp.backtest.stage import prepare_seed_systems

    return prepare_seed_systems(cfg)


@task(name="backtest-load-inputs", cache_policy=NO_CACHE)
def load_inputs_task(cfg: Config, system_folder: str | None, note: str, seed_folders: dict[int, str]) -> Any:
    from hrl_sarp.backtest.stage import load_stage_inputs

    return load_stage_inputs(cfg, system_folder, note, seed_folders)


@task(name="backtest-plan", cache_policy=NO_CACHE)
def plan_task(cfg: Config, inputs: Any) -> Any:
    """The walk-forward plan (after HRL-SARP's validation rows when a system exists)."""
    from hrl_sarp.backtest.evaluate import plan_for

    return plan_for(inputs.arrays, cfg, inputs.held_out_start())


@task(name="train-flat-rl", cache_policy=NO_CACHE)
def train_flat_rl_task(item: tuple[int, int], arrays: Any, cfg: Config, plan: Any) -> Any:
    """Flat PPO for one (fold, seed) on the fold's training rows."""
    from hrl_sarp.backtest.flat_rl import train_flat_policy

    fold, seed = item
    # SB3 seeds torch's process-global generator: trainings in one process take turns (reproducible per seed)
    with TORCH_RNG_LOCK:
        return train_flat_policy(arrays, cfg, plan.folds[fold], seed)


@task(name="run-backtest", cache_policy=NO_CACHE)
def run_backtest_task(cfg: Config, inputs: Any, flat: Any, seeds: list[int] | None) -> Any:
    """Every strategy through the shared simulator (HRL-SARP, flat RL, benchmark, baselines)."""
    from hrl_sarp.backtest.evaluate import evaluate

    system, others = inputs.systems()
    return evaluate(
        inputs.arrays,
        cfg,
        system,
        inputs.embeddings,
        seeds=seeds,
        flat_rl=flat,
        seed_systems=others,
        pretrained=inputs.pretrained(),
    )


@task(name="record-backtest", cache_policy=NO_CACHE)
def record_task(
    cfg: Config,
    evaluation: Any,
    inputs: Any,
    out_dir: str | None,
    register: bool,
    parent_run_id: str | None,
    seconds: float,
) -> dict[str, Any]:
    """Report, MLflow stage run, registration; then the Prefect table and markdown artifacts."""
    from hrl_sarp.backtest.stage import record
    from hrl_sarp.reporting.report import metrics_markdown

    summary = record(cfg, evaluation, inputs, out_dir, register, parent_run_id, seconds)
    table = evaluation.result.table()
    rows = [
        {k: (round(v, 6) if isinstance(v, float) else v) for k, v in row.items()} for row in table.to_dict("records")
    ]
    create_table_artifact(rows, key="backtest-metrics", description=f"Backtest metrics. Split: {summary['split']}")
    registry = summary.get("registry")
    lines = [
        "# HRL-SARP backtest",
        "",
        f"**HRL-SARP:** {summary['hrl_sarp_status']}",
        "",
        metrics_markdown(evaluation.result),
        f"Report: `{summary['report']}` (MLflow run `{summary['mlflow_run_id']}`)",
    ]
    if registry:
        lines.append(
            f"\nRegistered `{registry['model_uri']}` as **{registry['alias']}** (validation Sharpe "
            f"{registry['val_sharpe']:.4f}; previous champion: {registry['previous_champion']}, "
            f"{registry['champion_val_sharpe']})"
        )
    create_markdown_artifact("\n".join(lines), key="backtest-report", description="Backtest summary")
    return summary
