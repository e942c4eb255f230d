"""Prefect tasks around :mod:`hrl_sarp.ingest`: read (with retries), validate, load, publish a summary artifact.

Tasks hand each other paths of staged batches (pickles in a temporary folder), not DataFrames, so their inputs
stay small and hashable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from hrl_sarp.config import Config
from hrl_sarp.errors import is_transient
from hrl_sarp.ingest import PreparedBatch, known_symbols, load_batch, read_batch, validate_batch


def retry_transient(task, task_run, state) -> bool:
    """``retry_condition_fn``: retry only what a retry may fix (:func:`hrl_sarp.errors.is_transient`)."""
    exc = state.data if isinstance(state.data, BaseException) else None
    if exc is None:
        try:
            exc = state.result(raise_on_failure=False)
        except Exception:  # a result that cannot be read: assume transient
            return True
    return is_transient(exc) if isinstance(exc, BaseException) else False


@task(name="read-source", retries=2, retry_delay_seconds=[10, 60], retry_condition_fn=retry_transient)
def read_source_task(
    cfg: Config, source: str | None, path: str | None, start: str | None, end: str | None, stage_dir: str
) -> str:
    """Read the source and stage the raw batch; returns the staged file's path."""
    batch = read_batch(cfg, source, path, start, end)
    return str(batch.save(Path(stage_dir) / "raw.pkl"))


@task(name="validate")
def validate_task(cfg: Config, raw_path: str) -> str:
    """Validate a staged raw batch; returns the staged clean batch's path."""
    batch = validate_batch(cfg, PreparedBatch.load(raw_path), known_symbols=known_symbols(cfg))
    return str(batch.save(Path(raw_path).with_name("valid.pkl")))


@task(name="load")
def load_task(cfg: Config, valid_path: str) -> dict[str, Any]:
    """Load a staged clean batch into the warehouse in one transaction; returns the ingest summary."""
    return load_batch(cfg, PreparedBatch.load(valid_path), progress=False).to_dict()


@task(name="publish-ingest-summary")
def publish_summary_task(summary: dict[str, Any]) -> None:
    """A table artifact of per-table counts and a markdown artifact with the run and its rejections."""
    rows = [
        {
            "table": table,
            "loaded (new or changed)": summary["loaded_by_table"].get(table, 0),
            "rows in warehouse": count,
        }
        for table, count in summary["table_counts"].items()
    ]
    create_table_artifact(rows, key="ingest-table-counts", description="Rows loaded and held per raw table")
    lines = [
        f"# Ingestion {summary['run_id']}",
        "",
        f"- source: `{summary['source']}` ({summary['location']})",
        f"- warehouse: `{summary['warehouse']}`",
        f"- rows read: {summary['rows_read']}, loaded (new or changed): {summary['rows_loaded']}, "
        f"rejected: {summary['rows_rejected']} (new in quarantine: {summary['rows_quarantined']})",
        f"- data snapshot: `{summary['snapshot']}`",
    ]
    if summary["warnings"]:
        lines += ["", "## Warnings", ""] + [f"- {w}" for w in summary["warnings"]]
    if summary["rejections"]:
        lines += ["", f"## Rejected rows (first {len(summary['rejections'])} of {summary['rows_rejected']})", ""]
        lines += [f"- `{message}`" for message in summary["rejections"]]
    create_markdown_artifact("\n".join(lines), key="ingest-summary", description="Ingestion summary")
