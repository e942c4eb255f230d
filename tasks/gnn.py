"""Prefect tasks around :func:`hrl_sarp.gnn.fit.fit_gnn` and a summary artifact."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact

from hrl_sarp.config import Config


@task(name="fit-gnn")
def fit_gnn_task(cfg: Config, build_id: str | None = None, parent_run_id: str | None = None) -> dict[str, Any]:
    """Fit walk-forward sector embeddings on a feature build and store them; returns the summary dict."""
    from hrl_sarp import warehouse as wh
    from hrl_sarp.gnn.fit import fit_gnn

    with wh.open_warehouse(cfg.warehouse_path()) as con:
        summary = fit_gnn(con, cfg, build_id=build_id, progress=False, parent_run_id=parent_run_id)
    return summary.to_dict()


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


@task(name="publish-gnn-summary")
def publish_gnn_summary_task(summary: dict[str, Any]) -> None:
    """A markdown artifact with the model version and its held-out quality numbers."""
    rows = [
        ("validation rank IC (embedding probe)", summary["val_rank_ic"]),
        ("validation rank IC (raw trailing returns probe)", summary["raw_probe_rank_ic"]),
        ("test rank IC (embedding probe)", summary["test_rank_ic"]),
        ("test rank IC (raw trailing returns probe)", summary["raw_probe_test_rank_ic"]),
        ("held-out rank IC (embedding / raw)", f"{_fmt(summary['heldout_rank_ic'])} / "
         f"{_fmt(summary['raw_probe_heldout_rank_ic'])}"),
        ("link-prediction AUC (validation)", summary["link_auc"]),
        ("weeks embedded", summary["weeks_embedded"]),
        ("fit seconds", summary["fit_seconds"]),
    ]  # fmt: skip
    lines = [
        f"# Sector GNN {summary['model_version']}",
        "",
        f"- feature build: `{summary['build_id']}`, encoder: `{summary['encoder']}`",
        f"- walk-forward refits at: {', '.join(summary['anchors'])}",
        "",
        "| metric | value |",
        "|---|---|",
        *[f"| {name} | {_fmt(value)} |" for name, value in rows],
    ]
    create_markdown_artifact("\n".join(lines), key="gnn-summary", description="Sector GNN fit and held-out quality")
