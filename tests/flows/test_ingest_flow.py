"""Flow ``ingest`` under a temporary Prefect API: loads, is idempotent, publishes summary artifacts."""

from __future__ import annotations


def test_ingest_flow_loads_and_publishes(prefect_harness, tmp_path, files_folder):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.ingest import ingest_flow

    folder = files_folder(days=12, bad_prices=[{"date": "2023-01-02", "symbol": "IT0", "close": "abc"}])
    params = {"source": "files", "path": str(folder), "warehouse": str(tmp_path / "wh.duckdb")}
    first = ingest_flow(**params)
    second = ingest_flow(**params)

    assert first["table_counts"]["prices"] == 5 * 12 and first["rows_rejected"] >= 1
    assert second["rows_loaded"] == 0 and second["snapshot"] == first["snapshot"]
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["ingest-summary", "ingest-table-counts"]))
        )
    assert {a.key for a in artifacts} == {"ingest-summary", "ingest-table-counts"}
    summary = next(a for a in artifacts if a.key == "ingest-summary" and first["run_id"] in str(a.data))
    assert "abc" in str(summary.data) or "close" in str(summary.data)


def test_bad_input_fails_without_retries(prefect_harness, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from flows.ingest import ingest_flow

    # a missing ticker list is an InputError: retrying cannot fix it, so read-source runs once
    state = ingest_flow(
        source="yfinance", path=str(tmp_path / "missing.csv"), warehouse=str(tmp_path / "wh.duckdb"), return_state=True
    )
    assert state.is_failed() and "ticker list not found" in state.message
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
        )
    assert [(run.name.rsplit("-", 1)[0], run.run_count) for run in runs] == [("read-source", 1)]
