"""Prefect tasks around :mod:`hrl_sarp.features.build`: plan the build id, build (idempotent), publish artifacts.

Tasks take the profile name and the warehouse path (plain strings), never frames or connections.
"""

from __future__ import annotations

import json
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from hrl_sarp.config import Config, load_config


def feature_config(profile: str, warehouse: str | None, config_path: str | None = None) -> Config:
    """The run's config: profile (or an explicit YAML) with the warehouse override."""
    return load_config(profile=profile, path=config_path, overrides={"warehouse": warehouse})


@task(name="plan-feature-build")
def plan_build_task(profile: str, warehouse: str | None, config_path: str | None = None) -> dict[str, str]:
    """The build id this data and config map to (feature-config hash + data snapshot hash), read-only."""
    from hrl_sarp import warehouse as wh
    from hrl_sarp.features.build import feature_config_hash, find_build, make_build_id

    cfg = feature_config(profile, warehouse, config_path)
    with wh.open_warehouse(cfg.warehouse_path(), read_only=True) as con:
        snapshot = wh.latest_snapshot(con)
        config_hash = feature_config_hash(cfg)
        build_id = make_build_id(config_hash, snapshot)
        exists = find_build(con, build_id) is not None
    return {"build_id": build_id, "snapshot": snapshot, "config_hash": config_hash, "exists": str(exists).lower()}


@task(name="build-features")
def build_features_task(profile: str, warehouse: str | None, config_path: str | None = None) -> dict[str, Any]:
    """Build, validate and write the feature tables in one transaction (skips a complete identical build)."""
    from hrl_sarp import warehouse as wh
    from hrl_sarp.features.build import build_features

    cfg = feature_config(profile, warehouse, config_path)
    with wh.open_warehouse(cfg.warehouse_path()) as con:
        return build_features(con, cfg).to_dict()


@task(name="publish-feature-summary")
def publish_summary_task(summary: dict[str, Any]) -> None:
    """A markdown artifact with the build and a table artifact with per-feature coverage."""
    coverage: dict[str, Any] = {}
    if summary.get("coverage_path"):
        try:
            with open(summary["coverage_path"]) as handle:
                coverage = json.load(handle)
        except (OSError, ValueError) as exc:  # the build itself succeeded: publish without the table, but say why
            from prefect import get_run_logger

            get_run_logger().warning(f"coverage report {summary['coverage_path']} unreadable ({exc}); table skipped")
    rows = [
        {"feature": name, "kind": kind, "status": entry["status"], "neutral_share": entry["neutral_share"],
         "missing_sources": ", ".join(entry["missing_sources"])}
        for kind in ("stock_features", "macro_features")
        for name, entry in coverage.get(kind, {}).items()
    ]  # fmt: skip
    if rows:
        create_table_artifact(rows, key="feature-coverage", description="Which features come from data")
    lines = [
        f"# Feature build {summary['build_id']}" + (" (already complete: skipped)" if summary["skipped"] else ""),
        "",
        f"- dates: {summary['first_date']} .. {summary['last_date']} ({summary['n_dates']})",
        f"- stocks: {summary['n_stocks']}, sectors: {summary['n_sectors']}, stock features: "
        f"{summary['n_stock_features']}, macro features: {summary['n_macro_features']}",
        f"- benchmark: {summary['benchmark_source']}",
        f"- data snapshot: `{summary['snapshot']}`, feature config: `{summary['config_hash']}`",
        f"- coverage report: `{summary['coverage_path']}`",
        f"- seconds: {summary['seconds']:.2f}",
    ]
    notes = coverage.get("notes", [])
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    create_markdown_artifact("\n".join(lines), key="feature-build-summary", description="Feature build")
