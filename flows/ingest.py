"""Flow ``ingest``: read (retried) -> validate -> load in one transaction -> summary artifacts."""

from __future__ import annotations

import shutil
import tempfile
from typing import Any

from prefect import flow

from hrl_sarp.domain import DataSource, Profile
from tasks.ingest import load_task, publish_summary_task, read_source_task, validate_task
from tasks.logs import send_library_logs_to_prefect


@flow(name="ingest", log_prints=True)
def ingest_flow(
    profile: Profile = "demo",
    source: DataSource | None = None,
    path: str | None = None,
    start: str | None = None,
    end: str | None = None,
    warehouse: str | None = None,
) -> dict[str, Any]:
    """Ingest one batch from ``source`` into the warehouse (read, validate, load in one transaction).

    Args:
        profile: Config profile: config/<profile>.yaml overlaid on config/default.yaml.
        source: Where to read the data (empty: the config's data.source).
        path: Folder of the files source, or the ticker list for yfinance (empty: the config's data.path).
        start: First date to keep, YYYY-MM-DD (empty: the config's data.start).
        end: Last date to keep, YYYY-MM-DD (empty: the config's data.end).
        warehouse: DuckDB file, created when missing (empty: the config's warehouse, or env HRL_SARP_WAREHOUSE).

    Returns:
        The ingest summary: run id, counts, snapshot hash, first rejections.
    """
    send_library_logs_to_prefect()
    from hrl_sarp.config import load_config

    cfg = load_config(profile=profile, overrides={"warehouse": warehouse})
    stage_dir = tempfile.mkdtemp(prefix="hrl-sarp-ingest-")
    try:
        raw_path = read_source_task(cfg, source, path, start, end, stage_dir)
        valid_path = validate_task(cfg, raw_path)
        summary = load_task(cfg, valid_path)
        publish_summary_task(summary)
    finally:
        shutil.rmtree(stage_dir, ignore_errors=True)
    print(
        f"ingested {summary['rows_loaded']} new or changed rows from {summary['source']} "
        f"({summary['rows_rejected']} rejected), snapshot {summary['snapshot']}"
    )
    return summary


if __name__ == "__main__":
    ingest_flow()
