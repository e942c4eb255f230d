"""``hrl-sarp demo``: the whole pipeline (flow ``train-all``) on the demo profile, then where to look.

The flow runs on Prefect's ephemeral API (no server needed), storing its runs in ``$PREFECT_HOME`` (``.prefect/``),
which is the database the ``make up`` server shows; when that stack is already up, the runs go to it directly.
A second ``demo`` skips every stage whose data, config and code are unchanged.
"""

from __future__ import annotations

import argparse
import importlib
import os
from pathlib import Path
from typing import Any, get_args

from hrl_sarp.cli import add_common
from hrl_sarp.config import REPO_ROOT
from hrl_sarp.domain import PipelineStage

MAX_METRICS_SHOWN = 3
# Metrics worth a glance in the summary table, in order of preference (substrings of the metric name).
HEADLINE = ("val_", "accuracy", "rank_ic", "rows_loaded", "n_dates", "n_stocks", "fitted")


def register(subparsers: argparse._SubParsersAction) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="run every stage (train-all) on the demo profile and print a summary and where to look",
        description="Run the train-all flow end to end (ingest -> features -> gnn -> ...) with Prefect's "
        "ephemeral API; unchanged stages are skipped from the cache.",
    )
    demo.add_argument("--force", action="store_true", help="ignore the cache and run every stage")
    demo.add_argument(
        "--until",
        choices=get_args(PipelineStage),
        metavar="STAGE",
        help=f"stop after this stage, one of: {', '.join(get_args(PipelineStage))} (default: run them all)",
    )
    demo.add_argument("--seeds", type=int, nargs="+", metavar="SEED", help="training seeds (default: config seed)")
    add_common(demo, warehouse="create", config=False)
    demo.set_defaults(handler=run_demo)


def _prepare_environment() -> dict[str, str]:
    """Telemetry off, Prefect state in the repository, and the local stack's API when it is running."""
    from hrl_sarp.cli.stack import stack_urls

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_HOME", str(REPO_ROOT / ".prefect"))
    urls = stack_urls()
    if urls.get("PREFECT_API_URL") and not os.environ.get("PREFECT_API_URL"):
        os.environ["PREFECT_API_URL"] = urls["PREFECT_API_URL"]
    return urls


def run_demo(args: argparse.Namespace) -> dict[str, Any]:
    urls = _prepare_environment()
    train_all = importlib.import_module("flows.train_all").train_all
    result = train_all(
        profile=args.profile, warehouse=args.warehouse, force=args.force, until=args.until, seeds=args.seeds
    )
    where = where_to_look(result, urls)
    if args.json:
        return {**result, "where_to_look": where}
    print()
    print(format_table(result["stages"]))
    print()
    backtest = backtest_summary(result)
    if backtest:
        print(f"Backtest, out of sample ({backtest.get('split', 'split not recorded')}):")
        print(format_strategies(backtest.get("strategies", {})))
        print()
    print("Where to look:")
    for key, value in where.items():
        print(f"  {key:<10} {value}")
    print()
    return {
        "flow_run_id": result.get("flow_run_id"),
        "mlflow_run_id": result.get("mlflow_run_id"),
        "snapshot": result.get("snapshot"),
        "stages_cached": sum(s["status"] == "cached" for s in result["stages"]),
        "stages_run": sum(s["status"] != "cached" for s in result["stages"]),
    }


STRATEGY_COLUMNS = (
    "sharpe", "cagr", "volatility", "max_drawdown", "calmar", "turnover", "cost_drag", "cash_share", "exposure",
    "drift_corr", "active_share",
)  # fmt: skip


def backtest_summary(result: dict[str, Any]) -> dict[str, Any]:
    """The backtest stage's summary (``summary.json`` beside its report), or {} when there is none."""
    import json
    from pathlib import Path

    report = result.get("report")
    summary_file = Path(report).parent / "summary.json" if report else None
    if summary_file is None or not summary_file.is_file():
        return {}
    return json.loads(summary_file.read_text())


def format_strategies(strategies: dict[str, dict[str, float]]) -> str:
    """One row per strategy (best Sharpe first) with the headline metrics of the backtest (fractions as %)."""
    from hrl_sarp.reporting.report import format_metric

    rows = [("strategy", *STRATEGY_COLUMNS)]
    scored = {name: m for name, m in strategies.items() if isinstance(m, dict)}
    ordered = sorted(scored.items(), key=lambda item: -float(item[1].get("sharpe", float("-inf"))))
    for name, metrics in ordered:
        rows.append((name, *(format_metric(c, metrics.get(c)) for c in STRATEGY_COLUMNS)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.rjust(widths[i]) if i else cell.ljust(widths[i]) for i, cell in enumerate(r)) for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def format_table(stages: list[dict[str, Any]]) -> str:
    """One row per stage: name, ran/cached, seconds in this run, and its first few metrics."""
    rows = [("stage", "status", "seconds", "metrics")]
    for stage in stages:
        shown = headline_metrics(stage["metrics"])
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in shown)
        rows.append((stage["stage"], stage["status"], f"{stage['seconds']:.1f}", metrics))
    total = sum(float(s["seconds"]) for s in stages)
    rows.append(("total", "", f"{total:.1f}", ""))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])
        if n == 0 or n == len(rows) - 2:
            lines.append("-" * (sum(widths) + 6 + max(len(r[3]) for r in rows)))
    return "\n".join(line.rstrip() for line in lines)


def headline_metrics(metrics: dict[str, float], limit: int = MAX_METRICS_SHOWN) -> list[tuple[str, float]]:
    """Up to ``limit`` metrics, preferring validation quality and sizes over bookkeeping numbers."""

    def rank(name: str) -> int:
        return next((i for i, key in enumerate(HEADLINE) if key in name), len(HEADLINE))

    names = [name for name in metrics if not name.endswith("seed")]
    ordered = sorted(names, key=lambda name: (rank(name), names.index(name)))
    return [(name, metrics[name]) for name in ordered[:limit]]


def where_to_look(result: dict[str, Any], urls: dict[str, str]) -> dict[str, str]:
    """The two UIs (addresses when the local stack is up, else how to start it), the warehouse and the report."""
    from hrl_sarp import tracking
    from hrl_sarp.config import load_config

    cfg = load_config(profile=result.get("profile", "demo"), overrides={"warehouse": result.get("warehouse")})
    run_id = result.get("mlflow_run_id")
    experiment = result.get("mlflow_experiment_id")
    page = tracking.run_url(experiment, run_id) if run_id and experiment else ""
    where = {
        "MLflow": f"{urls['MLFLOW_UI_URL']}/{page}"
        if urls.get("MLFLOW_UI_URL")
        else f"make up -> http://127.0.0.1:5000/{page} (or: mlflow ui --host 127.0.0.1 --backend-store-uri "
        f"{tracking.tracking_uri(cfg)})",
        "Prefect": urls.get("PREFECT_UI_URL")
        or f"make up -> http://127.0.0.1:4200 (flow run {result.get('flow_run_id')} is in .prefect/)",
        "warehouse": result.get("warehouse", ""),
    }
    if result.get("report"):
        where["report"] = str(result["report"])
        latest = Path(result["report"]).parent.parent / "latest"
        if latest.is_symlink() and latest.resolve() == Path(result["report"]).parent.resolve():
            where["report"] = str(latest / Path(result["report"]).name)
    return where
