"""Flow ``fit-gnn``: walk-forward sector GNN on the latest feature build -> warehouse embeddings -> summary."""

from __future__ import annotations

from typing import Any

from prefect import flow

from hrl_sarp.domain import GraphEncoder, Profile
from tasks.gnn import fit_gnn_task, publish_gnn_summary_task
from tasks.logs import send_library_logs_to_prefect


@flow(name="fit-gnn", log_prints=True)
def fit_gnn_flow(
    profile: Profile = "demo",
    warehouse: str | None = None,
    encoder: GraphEncoder | None = None,
    build_id: str | None = None,
    seed: int | None = None,
    config: str | None = None,
    parent_run_id: str | None = None,
) -> dict[str, Any]:
    """Fit the sector GNN walk-forward on a feature build and store its weekly sector embeddings.

    Args:
        profile: Config profile: config/<profile>.yaml overlaid on config/default.yaml.
        warehouse: DuckDB file (empty: the config's warehouse, or env HRL_SARP_WAREHOUSE).
        encoder: Graph layer type (empty: the config's gnn.encoder).
        build_id: Feature build to fit on (empty: the latest complete one).
        seed: Random seed (empty: the config's seed).
        config: A YAML file overlaid on config/default.yaml instead of the profile (as hrl-sarp --config).
        parent_run_id: MLflow run to nest this stage's run under (train-all passes its stage run).

    Returns:
        The summary: model version, weeks embedded, held-out rank ICs (embedding vs raw-return probe), link AUC.
    """
    send_library_logs_to_prefect()
    from hrl_sarp.config import load_config

    cfg = load_config(
        profile=profile, path=config, overrides={"warehouse": warehouse, "gnn.encoder": encoder, "seed": seed}
    )
    summary = fit_gnn_task(cfg, build_id, parent_run_id)
    publish_gnn_summary_task(summary)
    print(
        f"sector GNN {summary['model_version']}: {summary['weeks_embedded']} weeks embedded, "
        f"validation rank IC {summary['val_rank_ic']:.4f} (raw probe {summary['raw_probe_rank_ic']:.4f}), "
        f"link AUC {summary['link_auc']:.3f}"
    )
    return summary


if __name__ == "__main__":
    fit_gnn_flow()
