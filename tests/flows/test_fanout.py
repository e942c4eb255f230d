"""Fan-out of per-seed GNN fits: a local Dask cluster (through prefect-dask) gives the default runner's results."""

from __future__ import annotations

import json
import math

import pytest

from hrl_sarp.gnn.seeds import seed_statistics

OVERRIDES = json.dumps({"gnn.epochs": 2})


def _same(a: dict, b: dict) -> bool:
    if set(a) != set(b):
        return False
    for key, value in a.items():
        other = b[key]
        if isinstance(value, float) and math.isnan(value):
            if not (isinstance(other, float) and math.isnan(other)):
                return False
        elif value != other:
            return False
    return True


@pytest.fixture(scope="module")
def featured_warehouse(tmp_path_factory):
    """A demo warehouse with its raw data ingested and one feature build."""
    from hrl_sarp import warehouse as wh
    from hrl_sarp.config import load_config
    from hrl_sarp.features.build import build_features
    from hrl_sarp.ingest import ingest

    path = tmp_path_factory.mktemp("fanout") / "wh.duckdb"
    cfg = load_config("demo", overrides={"warehouse": str(path)})
    ingest(cfg, progress=False)
    with wh.open_warehouse(path) as con:
        build_features(con, cfg, report_dir=path.parent)
    return str(path)


def test_seed_statistics_mean_and_spread():
    stats = seed_statistics([{"seed": 1, "ic": 0.1, "x": math.nan}, {"seed": 2, "ic": 0.3, "x": 1.0}])
    assert stats["mean"]["ic"] == pytest.approx(0.2)
    assert stats["std"]["ic"] == pytest.approx(math.sqrt(0.02))
    assert stats["mean"]["x"] == 1.0 and stats["std"]["x"] == 0.0


def test_local_dask_cluster_matches_the_default_runner(prefect_harness, featured_warehouse):
    from distributed import LocalCluster

    from flows.fanout import gnn_seeds_flow

    seeds = [3, 4]
    default = gnn_seeds_flow(seeds=seeds, warehouse=featured_warehouse, overrides_json=OVERRIDES)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        on_dask = gnn_seeds_flow(
            seeds=seeds, warehouse=featured_warehouse, overrides_json=OVERRIDES, dask_address=cluster.scheduler_address
        )

    assert default["fitted"] == on_dask["fitted"] == 2
    assert [r["seed"] for r in on_dask["per_seed"]] == seeds
    assert all(_same(a, b) for a, b in zip(default["per_seed"], on_dask["per_seed"], strict=True))
    assert _same(default["mean"], on_dask["mean"]) and _same(default["std"], on_dask["std"])
    assert default["per_seed"][0]["val_rank_ic"] != default["per_seed"][1]["val_rank_ic"]  # seeds really differ
