"""Flow ``build-features`` under a temporary Prefect API: builds once, skips an identical rebuild, publishes."""

from __future__ import annotations

from tests.features.raw_market import load_market, make_market


def test_build_features_flow_builds_skips_and_publishes(prefect_harness, tmp_path, monkeypatch):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.build_features import build_features_flow

    path = tmp_path / "wh.duckdb"
    load_market(path, make_market(days=120))
    monkeypatch.delenv("HRL_SARP_WAREHOUSE", raising=False)
    first = build_features_flow(warehouse=str(path))
    second = build_features_flow(warehouse=str(path))

    assert not first["skipped"] and second["skipped"] and second["build_id"] == first["build_id"]
    assert first["n_stocks"] == 12 and first["n_sectors"] == 3 and first["rows"]["macro_features"] == 60
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["feature-build-summary", "feature-coverage"]))
        )
    assert {a.key for a in artifacts} == {"feature-build-summary", "feature-coverage"}
    assert any(first["build_id"] in str(a.data) for a in artifacts if a.key == "feature-build-summary")
