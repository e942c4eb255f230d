"""Flow ``build-features``: plan the build id -> build (idempotent, one transaction) -> summary artifacts."""

from __future__ import annotations

from typing import Any

from prefect import flow

from tasks.features import build_features_task, plan_build_task, publish_summary_task


@flow(name="build-features", log_prints=True)
def build_features_flow(
    profile: str = "demo",
    warehouse: str | None = None,
    config_path: str | None = None,
) -> dict[str, Any]:
    """Build the point-in-time feature tables for the warehouse's current data and the profile's config.

    ``warehouse`` overrides the profile's DuckDB file; ``config_path`` replaces the profile by a YAML file.
    Returns the build summary (build id, snapshot, config hash, counts, coverage report path, seconds).
    """
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
