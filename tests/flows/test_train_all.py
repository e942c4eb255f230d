"""Flow ``train-all``: stages chain, a re-run skips cached stages, a lost warehouse re-runs, MLflow runs nest.

The fast tests stop after ingest (``until="ingest"``); the whole pipeline twice is ``slow``.
"""

from __future__ import annotations

import re

import mlflow
import pytest

from flows.train_all import STAGES, numeric_leaves, select_stages


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """Warehouse, cached results and MLflow store in the test's temp dir."""
    monkeypatch.setenv("HRL_SARP_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    return tmp_path


def _mlflow_runs(tmp_path):
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = mlflow.search_runs(search_all_experiments=True, output_format="list")
    parents = [
        r
        for r in runs
        if r.data.tags.get("hrl_sarp.pipeline") == "true" and r.data.tags.get("hrl_sarp.flow") == "train-all"
    ]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId")]
    return parents, children


def test_stage_order_and_until():
    names = [s.name for s in STAGES]
    assert names[0] == "ingest"
    assert [s.name for s in select_stages("ingest")] == ["ingest"]
    assert [s.name for s in select_stages()] == names
    with pytest.raises(ValueError, match="unknown stage"):
        select_stages("nope")


def test_numeric_leaves_flatten_numbers_only():
    summary = {"rows": 3, "ok": True, "name": "x", "counts": {"prices": 10, "macro": 2.5}, "list": [1, 2]}
    assert numeric_leaves(summary) == {"rows": 3.0, "counts.prices": 10.0, "counts.macro": 2.5}


def test_rerun_is_cached_and_a_lost_warehouse_reruns(prefect_harness, isolated):
    from flows.train_all import train_all

    warehouse = str(isolated / "wh.duckdb")
    first = train_all(warehouse=warehouse, until="ingest")
    second = train_all(warehouse=warehouse, until="ingest")
    assert [s["status"] for s in first["stages"]] == ["ran"]
    assert [s["status"] for s in second["stages"]] == ["cached"]
    assert second["snapshot"] == first["snapshot"]
    assert second["stages"][0]["metrics"] == first["stages"][0]["metrics"]
    assert first["flow_run_id"] and first["flow_run_id"] != second["flow_run_id"]

    (isolated / "wh.duckdb").unlink()
    third = train_all(warehouse=warehouse, until="ingest")
    assert [s["status"] for s in third["stages"]] == ["rerun"]
    assert third["snapshot"] == first["snapshot"]

    parents, children = _mlflow_runs(isolated)
    assert len(parents) == 3
    assert {p.data.tags["prefect_flow_run_id"] for p in parents} == {
        first["flow_run_id"],
        second["flow_run_id"],
        third["flow_run_id"],
    }
    names = [set(p.data.metrics) for p in parents]
    assert names[0] == names[1] == names[2] == {"ingest.seconds", "ingest.cached"}
    # named after the profile, the start time and the Prefect flow run, so the compare view tells them apart
    assert all(re.fullmatch(r"demo \d{4}-\d\d-\d\d \d\d:\d\d \(.+\)", p.info.run_name) for p in parents)
    experiment = mlflow.get_experiment(parents[0].info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    for parent in parents:
        nested = [c for c in children if c.data.tags["mlflow.parentRunId"] == parent.info.run_id]
        assert [c.data.tags["hrl_sarp.stage"] for c in nested] == ["ingest"]
    cached = [c for c in children if c.data.tags.get("hrl_sarp.cached") == "true"]
    assert len(cached) == 1 and cached[0].data.tags["prefect_flow_run_id"] == second["flow_run_id"]


def test_force_runs_every_stage_again(prefect_harness, isolated):
    from flows.train_all import train_all

    warehouse = str(isolated / "wh.duckdb")
    train_all(warehouse=warehouse, until="ingest")
    forced = train_all(warehouse=warehouse, until="ingest", force=True)
    assert [s["status"] for s in forced["stages"]] == ["ran"]
    assert forced["stages"][0]["summary"]["rows_loaded"] == 0  # idempotent load: nothing new


def _warehouse_state(path) -> dict:
    """Row counts and content hashes of every raw and feature table, plus orphan feature rows (must be 0)."""
    from hrl_sarp import warehouse as wh
    from hrl_sarp.features.build import FEATURE_TABLES

    with wh.open_warehouse(path, read_only=True) as con:
        state = {"snapshot": wh.snapshot_hash(con)}
        builds = {row[0] for row in con.execute("SELECT build_id FROM feature_builds").fetchall()}
        for table in FEATURE_TABLES:
            state[table] = wh.table_hash(con, table)
            ids = {row[0] for row in con.execute(f"SELECT DISTINCT build_id FROM {table}").fetchall()}
            state[f"{table}.orphans"] = len(ids - builds)
        state["feature_builds"] = sorted(builds)
        state["ingest_running"] = wh.fetch_one(con, "SELECT count(*) FROM ingestion_runs WHERE status = 'running'")[0]
    return state


@pytest.mark.slow
def test_killed_mid_stage_resumes_from_cache_and_warehouse_is_consistent(prefect_harness, isolated):
    import os
    import signal
    import subprocess
    import sys
    import time

    from prefect.settings import PREFECT_API_URL

    from flows.train_all import train_all
    from hrl_sarp.config import REPO_ROOT

    clean = train_all(warehouse=str(isolated / "clean.duckdb"), until="features")
    assert [s["status"] for s in clean["stages"]] == ["ran", "ran"]

    warehouse = isolated / "wh.duckdb"
    script = f"from flows.train_all import train_all; train_all(warehouse={str(warehouse)!r}, until='features')"
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    seen = []
    deadline = time.monotonic() + 300
    try:
        for line in proc.stdout:
            seen.append(line)
            if "for flow 'build-features'" in line:  # the features stage has started
                time.sleep(0.5)
                os.killpg(proc.pid, signal.SIGKILL)
                break
            assert time.monotonic() < deadline, "features stage never started"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    output = "".join(seen)
    assert proc.returncode == -signal.SIGKILL, output[-2000:]
    assert "stage ingest: ran" in output and "stage features: ran" not in output

    interrupted = _warehouse_state(warehouse)
    assert all(v == 0 for k, v in interrupted.items() if k.endswith(".orphans"))
    assert interrupted["ingest_running"] == 0

    resumed = train_all(warehouse=str(warehouse), until="features")
    assert [s["status"] for s in resumed["stages"]] == ["cached", "ran"]
    assert resumed["snapshot"] == clean["snapshot"]
    assert _warehouse_state(warehouse) == _warehouse_state(isolated / "clean.duckdb")


@pytest.mark.slow
def test_two_full_runs_second_is_cached_with_the_same_metric_names(prefect_harness, isolated):
    """What `make demo` twice does: every stage, then every stage from the cache; MLflow holds both parents."""
    from flows.train_all import train_all

    warehouse = str(isolated / "wh.duckdb")
    first = train_all(warehouse=warehouse)
    second = train_all(warehouse=warehouse)

    assert [s["stage"] for s in first["stages"]] == [s.name for s in STAGES]
    assert all(s["status"] == "ran" for s in first["stages"])
    assert all(s["status"] == "cached" for s in second["stages"])

    parents, children = _mlflow_runs(isolated)
    assert len(parents) == 2
    assert set(parents[0].data.metrics) == set(parents[1].data.metrics)
    assert "test.hrl_sarp.sharpe" in parents[0].data.metrics and len(parents[0].data.metrics) < 120
    client = mlflow.MlflowClient()
    for parent in parents:  # the description's table and links, the report beside it
        note = parent.data.tags["mlflow.note.content"]
        assert "| hrl_sarp |" in note and "| equal_weight |" in note and "#/models/hrl-sarp/versions/" in note
        assert "report/report.html" in {a.path for a in client.list_artifacts(parent.info.run_id, "report")}
    version = client.get_model_version("hrl-sarp", parents[0].data.tags["registered_model_version"].split("/")[1])
    first_run = next(p for p in parents if p.data.tags["prefect_flow_run_id"] == first["flow_run_id"])
    assert first_run.info.run_id in version.description  # the run that trained it, not the cached re-run
    for parent in parents:
        nested = {
            c.data.tags["hrl_sarp.stage"] for c in children if c.data.tags["mlflow.parentRunId"] == parent.info.run_id
        }
        assert nested == {s.name for s in STAGES}
