"""Flow ``pretrain`` under a temporary Prefect API, on the tiny training build (tests/training/conftest.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml

_spec = importlib.util.spec_from_file_location(
    "_tiny_build", Path(__file__).resolve().parents[1] / "training" / "conftest.py"
)
_tiny = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_tiny)


def test_pretrain_flow_runs_both_phases_per_seed(prefect_harness, tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.pretrain import pretrain_flow
    from hrl_sarp.training import runner

    arrays = _tiny.make_arrays()
    week_dates, emb = _tiny.make_embeddings(arrays)
    monkeypatch.setattr(
        runner, "load_inputs", lambda cfg, phase: runner.PretrainInputs(arrays, "snap", week_dates, emb, "gnn")
    )
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "tracking": {"artifact_dir": str(tmp_path / "artifacts"), "experiment": "flow-test"},
                "pretrain": {"macro_epochs": 10, "micro_epochs": 2, "patience": 3, "output_dir": str(tmp_path / "m")},
            }
        )
    )
    report = pretrain_flow(seeds=[1, 2], warehouse=str(tmp_path / "wh.duckdb"), config=str(config))

    assert [(r["seed"], r["stage"]) for r in report["runs"]] == [
        (1, "pretrain_macro"),
        (1, "pretrain_micro"),
        (2, "pretrain_macro"),
        (2, "pretrain_micro"),
    ]
    assert report["pretrain_macro"]["seed"] == 1 and Path(report["pretrain_micro"]["checkpoint"]).exists()
    assert len({r["checkpoint"] for r in report["runs"]}) == 4  # the seed is part of the config hash

    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("flow-test").experiment_id])
    assert len([r for r in runs if "mlflow.parentRunId" in r.data.tags]) == 4
    with get_client(sync_client=True) as prefect:
        artifacts = prefect.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["pretrain-summary"]))
        )
    assert artifacts and "val_regime_accuracy" in str(artifacts[0].data)
