"""Flow ``build-features``: plan the build id -> build (idempotent, one transaction) -> summary artifacts."""

from __future__ import annotations

from typing import Any

from prefect import flow

from hrl_sarp.domain import Profile
from tasks.features import build_features_task, plan_build_task, publish_summary_task
from tasks.logs import send_library_logs_to_prefect


@flow(name="build-features", log_prints=True)
def build_features_flow(
    profile: Profile = "demo",
    warehouse: str | None = None,
    config_path: str | None = None,
) -> dict[str, Any]:
    """Build the point-in-time feature tables for the warehouse's current data and the profile's config.

    Args:
        profile: Config profile: config/<profile>.yaml overlaid on config/default.yaml.
        warehouse: DuckDB file (empty: the config's warehouse, or env HRL_SARP_WAREHOUSE).
        config_path: A YAML file overlaid on config/default.yaml instead of the profile.

    Returns:
        The build summary: build id, snapshot, config hash, counts, coverage report path, seconds.
    """
    send_library_logs_to_prefect()
    plan = plan_build_task(profile, warehouse, config_path)
    if plan["exists"] == "true":
        print(f"feature build {plan['build_id']} is already complete")
    summary = build_features_task(profile, warehouse, config_path)
    publish_summary_task(summary)
    took = "skipped" if summary["skipped"] else f"{summary['seconds']:.2f} s"
    print(
        f"feature build {summary['build_id']}: {summary['n_dates']} dates x {summary['n_stocks']} stocks, "
        f"{summary['n_sectors']} sectors ({took})"
    )
    return summary


if __name__ == "__main__":
    build_features_flow()
