"""Flow ``ingest``: read (retried) -> validate -> load in one transaction -> summary artifacts."""

from __future__ import annotations

import shutil
import tempfile
from typing import Any

from prefect import flow

from tasks.ingest import load_task, publish_summary_task, read_source_task, validate_task


@flow(name="ingest", log_prints=True)
def ingest_flow(
    profile: str = "demo",
    source: str | None = None,
    path: str | None = None,
    start: str | None = None,
    end: str | None = None,
    warehouse: str | None = None,
) -> dict[str, Any]:
    """Ingest one batch from ``source`` (default: the profile's ``data.source``) into the warehouse.

    ``start``/``end`` (YYYY-MM-DD) window the rows; ``warehouse`` overrides the profile's DuckDB file.
    Returns the ingest summary (run id, counts, snapshot hash, first rejections).
    """
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
