"""Fan-out of seeds and folds as Prefect tasks, on a thread pool or on an existing Dask cluster.

:func:`fan_out` maps a task over items inside a small subflow whose task runner is chosen at call time: a
``ThreadPoolTaskRunner`` by default, or prefect-dask's ``DaskTaskRunner(address=...)`` when the address of an
existing Dask scheduler is given. Results come back in item order, so the caller's output does not depend on where
or in which order the items ran.

Flow ``gnn-seeds`` is the fan-out train-all runs today: the sector GNN's held-out quality across seeds (mean and
spread of the validation rank IC and friends). The seed the ``fit-gnn`` stage already fitted is read from
``gnn_models`` rather than fitted again; every other seed is a task. Each task receives the small daily arrays the
fit needs (T x S sector returns, T x M macro), not a warehouse connection, so it runs on any Dask worker.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Sequence
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from hrl_sarp.domain import Profile
from hrl_sarp.gnn.seeds import fit_one_seed, seed_inputs, seed_statistics
from tasks.logs import send_library_logs_to_prefect

DEFAULT_THREADS = 4


def task_runner_for(dask_address: str | None = None, max_workers: int = DEFAULT_THREADS) -> Any:
    """``DaskTaskRunner`` on the cluster at ``dask_address`` (``tcp://host:8786``), else a thread pool."""
    if dask_address:
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(address=dask_address)
    return ThreadPoolTaskRunner(max_workers=max_workers)


def fan_out(fanned: Any, items: Sequence[Any], dask_address: str | None = None, **common: Any) -> list[Any]:
    """Run ``fanned(item, **common)`` for every item as concurrent tasks; returns the results in item order.

    ``fanned`` is a Prefect task whose first parameter takes one item (a seed, a fold); call this inside a flow.
    The runner is entered here rather than fixed on the flow, so one flow can pick Dask per run: with
    ``dask_address`` the tasks run on that existing cluster through prefect-dask (its workers need this package).
    Task inputs are passed by value, not as flow parameters, so arrays are fine.
    """
    if not items:
        return []
    first = next(iter(inspect.signature(fanned.fn).parameters))
    runner = task_runner_for(dask_address, max_workers=max(1, min(len(items), DEFAULT_THREADS)))
    with runner:
        futures = [runner.submit(fanned, parameters={first: item, **common}) for item in items]
        return [future.result() for future in futures]


@task(name="gnn-seed-fit", cache_policy=NO_CACHE)
def gnn_seed_fit_task(seed: int, inputs: dict[str, Any], gnn_json: str, splits: dict[str, float]) -> dict[str, Any]:
    """One seed's GNN fit as a task (see :func:`hrl_sarp.gnn.seeds.fit_one_seed`)."""
    return fit_one_seed(seed, inputs, gnn_json, splits)


@flow(name="gnn-seeds", log_prints=True)
def gnn_seeds_flow(
    profile: Profile = "demo",
    seeds: list[int] | None = None,
    warehouse: str | None = None,
    dask_address: str | None = None,
    overrides_json: str | None = None,
) -> dict[str, Any]:
    """Held-out quality of the sector embeddings across ``seeds`` on the latest feature build.

    Seeds whose model the ``fit-gnn`` stage already stored (same build, config and seed) are read back; the others
    are fitted as fanned-out tasks.

    Args:
        profile: Config profile: config/<profile>.yaml overlaid on config/default.yaml.
        seeds: The seeds to compare (empty: the config's seed).
        warehouse: DuckDB file (empty: the config's warehouse, or env HRL_SARP_WAREHOUSE).
        dask_address: Fit on this existing Dask cluster (tcp://host:8786) instead of a thread pool.
        overrides_json: Dotted config overrides as JSON, e.g. {"gnn.epochs": 2}.

    Returns:
        Per-seed metrics and their mean and std.
    """
    send_library_logs_to_prefect()
    from hrl_sarp import warehouse as wh
    from hrl_sarp.config import load_config
    from hrl_sarp.features.loader import load_feature_arrays
    from hrl_sarp.gnn.store import load_model_metrics, model_version

    overrides = {**json.loads(overrides_json or "{}"), "warehouse": warehouse}
    cfg = load_config(profile=profile, overrides=overrides)
    seeds = [int(s) for s in (seeds or [cfg.seed])]
    stored: dict[int, dict[str, Any]] = {}
    with wh.open_warehouse(cfg.warehouse_path(), read_only=True) as con:
        arrays = load_feature_arrays(con)
        for seed in seeds:
            seed_cfg = load_config(profile=profile, overrides={**overrides, "seed": seed})
            metrics = (
                load_model_metrics(con, model_version(arrays.build_id, seed_cfg))
                if wh.table_exists(con, "gnn_models")
                else {}
            )
            numeric = {
                k: float(v) for k, v in metrics.items() if isinstance(v, int | float) and not isinstance(v, bool)
            }
            if numeric:
                stored[seed] = {"seed": seed, "source": "stored", **numeric}
    inputs = seed_inputs(arrays)
    to_fit = [s for s in seeds if s not in stored]
    splits = {"train_fraction": cfg.splits.train_fraction, "val_fraction": cfg.splits.val_fraction}
    fitted = fan_out(
        gnn_seed_fit_task, to_fit, dask_address, inputs=inputs, gnn_json=cfg.gnn.model_dump_json(), splits=splits
    )
    by_seed = {**stored, **{r["seed"]: r for r in fitted}}
    per_seed = [by_seed[s] for s in seeds]
    stats = seed_statistics(per_seed)
    print(
        f"gnn seeds {seeds} on {arrays.build_id}: {len(to_fit)} fitted, {len(stored)} read back; val_rank_ic "
        f"{stats['mean'].get('val_rank_ic', math.nan):.4f} +- {stats['std'].get('val_rank_ic', math.nan):.4f}"
    )
    return {
        "build_id": arrays.build_id,
        "seeds": seeds,
        "fitted": len(to_fit),
        "read_back": len(stored),
        "mean": stats["mean"],
        "std": stats["std"],
        "per_seed": per_seed,
    }
