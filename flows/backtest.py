"""Flow ``backtest``: HRL-SARP (when trained) against flat RL, the benchmark and every baseline, walk-forward.

Tasks: assemble the trained system -> load the feature build -> plan the folds -> train flat RL for every
(fold, seed) as fanned-out tasks (thread pool, or an existing Dask cluster with ``dask_address``) -> run every
strategy through the shared simulator -> write the report, log the MLflow stage run, register the system
(``champion`` only when it beats the current one on validation, else ``challenger``) -> Prefect table and
markdown artifacts. Returns the stage summary (split, strategy -> metrics, intervals, registry, report path).
"""

from __future__ import annotations

import time
from typing import Any

from prefect import flow

from flows.fanout import fan_out
from hrl_sarp.domain import Profile
from tasks.backtest import (
    load_inputs_task,
    plan_task,
    prepare_seed_systems_task,
    prepare_system_task,
    record_task,
    run_backtest_task,
    train_flat_rl_task,
)
from tasks.logs import send_library_logs_to_prefect


@flow(name="backtest", log_prints=True)
def backtest_flow(
    profile: Profile = "demo",
    backtest_seeds: list[int] | None = None,
    warehouse: str | None = None,
    config: str | None = None,
    register_model: bool = True,
    out_dir: str | None = None,
    parent_run_id: str | None = None,
    dask_address: str | None = None,
) -> dict[str, Any]:
    """Backtest on the latest feature build.

    Args:
        profile: Config profile: config/<profile>.yaml overlaid on config/default.yaml.
        backtest_seeds: Seeds of the seeded strategies (empty: the config's backtest.seeds; not train-all's
            training seeds).
        warehouse: DuckDB file (empty: the config's warehouse, or env HRL_SARP_WAREHOUSE).
        config: A YAML file overlaid on config/default.yaml instead of the profile (as hrl-sarp --config).
        register_model: Register the trained system in MLflow (champion only when it beats the current one).
        out_dir: Report folder (empty: artifacts/backtest/<config hash>_<build id>).
        parent_run_id: MLflow run to nest the stage run under (train-all passes its stage run).
        dask_address: Run the flat-RL trainings on this existing Dask cluster (tcp://host:8786).

    Returns:
        The stage summary: split, strategy -> metrics, intervals, registry, report path.
    """
    send_library_logs_to_prefect()
    from hrl_sarp.backtest.flat_rl import FlatRlStrategy
    from hrl_sarp.config import load_config

    began = time.perf_counter()
    cfg = load_config(profile=profile, path=config, overrides={"warehouse": warehouse})
    seeds = list(backtest_seeds) if backtest_seeds else list(cfg.backtest.seeds)
    folder, note = prepare_system_task(cfg)
    seed_folders = prepare_seed_systems_task(cfg) if folder else {}
    print(f"HRL-SARP: {note}; systems of other seeds: {sorted(seed_folders) or 'none'}")
    inputs = load_inputs_task(cfg, folder, note, seed_folders)
    plan = plan_task(cfg, inputs)
    print(f"split: {plan.description}")
    flat: Any = False
    if cfg.backtest.flat_rl_timesteps > 0:
        items = [(fold.index, seed) for fold in plan.folds for seed in seeds]
        policies = fan_out(train_flat_rl_task, items, dask_address, arrays=inputs.arrays, cfg=cfg, plan=plan)
        flat = FlatRlStrategy(inputs.arrays, cfg, plan)
        flat.policies = dict(zip(items, policies, strict=True))
    evaluation = run_backtest_task(cfg, inputs, flat, seeds)
    summary = record_task(cfg, evaluation, inputs, out_dir, register_model, parent_run_id, time.perf_counter() - began)
    print(f"report: {summary['report']}")
    return summary


if __name__ == "__main__":
    backtest_flow()
