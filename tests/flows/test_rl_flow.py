"""Flow ``rl`` under a temporary Prefect API on a tiny hierarchy: three phase tasks per seed chained through the
warehouse's checkpoint records, MLflow stage runs with SB3 metrics, the summary artifact, the curriculum comparison."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.rl.conftest import make_hierarchy, small_config


def test_rl_flow_chains_phases_and_compares_curriculum(prefect_harness, tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.rl import rl_flow
    from hrl_sarp.rl import inputs as rl_inputs
    from hrl_sarp.rl import runner

    monkeypatch.setattr(rl_inputs, "load_rl_inputs", lambda cfg: None)
    monkeypatch.setattr(runner, "build_hierarchy", lambda cfg, inputs: make_hierarchy(cfg, seed=cfg.seed))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    raw = small_config(macro_timesteps=32, micro_timesteps=60, phase5_rounds=1).model_dump(mode="json")
    raw.pop("warehouse")
    raw.pop("profile")
    raw["tracking"] = {"artifact_dir": str(tmp_path / "artifacts"), "experiment": "rl-flow-test"}
    raw["rl"]["output_dir"] = str(tmp_path / "rl")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(raw))

    report = rl_flow(seeds=[3], warehouse=str(tmp_path / "wh.duckdb"), config=str(config), compare_curriculum=True)

    assert [(r["stage"], r["curriculum"]) for r in report["runs"]] == [
        ("rl_phase3", True),
        ("rl_phase4", True),
        ("rl_phase5", True),
        ("rl_phase3", False),
        ("rl_phase4", False),
        ("rl_phase5", False),
    ]
    phase5 = report["rl_phase5"]
    assert phase5["curriculum"] is True and Path(phase5["checkpoints"]["micro"]).exists()
    assert Path(phase5["checkpoints"]["macro_stats"]).exists()  # normalisation statistics beside the zip
    for key in ("val_sharpe", "val_sharpe_phase2_only", "val_sharpe_equal_weight"):
        assert isinstance(phase5[key], float)
    comparison = report["curriculum_comparison"]
    assert set(comparison) == {"with_curriculum", "without_curriculum", "equal_weight"}

    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("rl-flow-test").experiment_id
    runs = {r.info.run_name: r for r in client.search_runs([experiment]) if "mlflow.parentRunId" in r.data.tags}
    assert {"rl_phase3", "rl_phase4", "rl_phase5"} <= set(runs)
    phase3 = client.search_runs([experiment], "tags.`hrl_sarp.stage` = 'rl_phase3'")[0]
    metrics = phase3.data.metrics
    assert "rl_phase3/eval/val_sharpe" in metrics and "rl_phase3/summary/val_sharpe_equal_weight" in metrics
    artifacts = {a.path for a in client.list_artifacts(phase3.info.run_id, "checkpoints")}
    assert {"checkpoints/macro.zip", "checkpoints/macro_vecnormalize.pkl"} <= artifacts
    with get_client(sync_client=True) as prefect:
        found = prefect.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["rl-summary"])))
    assert found and "val_sharpe_equal_weight" in str(found[0].data)
