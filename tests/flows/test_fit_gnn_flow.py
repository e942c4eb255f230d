"""Flow ``fit-gnn`` under a temporary Prefect API: stores embeddings, publishes the summary artifact."""

from __future__ import annotations

import pytest

from hrl_sarp import warehouse as wh
from tests.gnn import conftest as gnn_fixtures

feature_warehouse = gnn_fixtures.feature_warehouse  # fixture: short synthetic market + its feature build


@pytest.mark.slow
def test_fit_gnn_flow_stores_embeddings_and_publishes(prefect_harness, feature_warehouse, tmp_path, monkeypatch):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.fit_gnn import fit_gnn_flow
    from hrl_sarp.gnn.store import load_embeddings

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    config = tmp_path / "gnn.yaml"
    config.write_text(
        "gnn:\n  min_train_weeks: 40\n  refit_every_weeks: 26\n  epochs: 4\n"
        f"tracking:\n  artifact_dir: {tmp_path / 'artifacts'}\n"
    )
    summary = fit_gnn_flow(warehouse=str(feature_warehouse), config=str(config))

    with wh.open_warehouse(feature_warehouse, read_only=True) as con:
        weeks, sectors, embeddings, version = load_embeddings(con, summary["model_version"])
    assert version == summary["model_version"] and embeddings.shape[0] == summary["weeks_embedded"] > 0
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["gnn-summary"])))
    assert any(summary["model_version"] in str(a.data) for a in artifacts)
