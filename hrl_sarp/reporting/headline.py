"""What a pipeline run's parent MLflow run shows first: a fixed set of headline metrics and a Markdown description.

The parent run of ``train-all`` carries only these (plus each stage's seconds and cache flag); every detail stays in
the stage's nested run. The names never depend on what ran or what was cached, so runs compare column by column.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from hrl_sarp.backtest.stage import ALL_STRATEGIES
from hrl_sarp.reporting.report import format_metric

log = logging.getLogger(__name__)

# Per strategy, test split: what a reader compares first.
HEADLINE_METRICS = ("sharpe", "cagr", "max_drawdown", "information_ratio", "cash_share", "exposure", "drift_corr")
# Columns of the description's table (label, metric).
_TABLE = (
    ("Sharpe", "sharpe"),
    ("CAGR", "cagr"),
    ("max drawdown", "max_drawdown"),
    ("days in cash", "cash_share"),
    ("mean exposure", "exposure"),
    ("drift corr", "drift_corr"),
)


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan


def headline_metrics(backtest: dict[str, Any]) -> dict[str, float]:
    """``test.<strategy>.<metric>`` for every strategy and headline metric (NaN where a strategy did not run), plus
    the regime head's balanced accuracy and the majority call's, from a backtest stage summary."""
    strategies = backtest.get("strategies", {})
    out: dict[str, float] = {}
    for name in ALL_STRATEGIES:
        values = strategies.get(name)
        values = values if isinstance(values, dict) else {}
        for metric in HEADLINE_METRICS:
            out[f"test.{name}.{metric}"] = _number(values.get(metric))
    regime = backtest.get("regime") if isinstance(backtest.get("regime"), dict) else {}
    out["test.regime.balanced_accuracy"] = _number(regime.get("balanced_accuracy"))
    out["test.regime.majority_balanced_accuracy"] = _number(regime.get("majority_balanced_accuracy"))
    return out


def results_markdown(backtest: dict[str, Any], links: dict[str, str] | None = None) -> str:
    """The parent run's description: the test-split table of every strategy that ran, the split in words, and
    ``links`` (label -> URL, e.g. the report artifact and the registered model version) as a list."""
    strategies = backtest.get("strategies", {})
    header = "| strategy | " + " | ".join(label for label, _ in _TABLE) + " |"
    lines = [
        "**Test split** (out of sample; models were chosen on validation only)",
        "",
        header,
        "|" + " --- |" * (len(_TABLE) + 1),
    ]
    skipped = []
    for name in ALL_STRATEGIES:
        values = strategies.get(name)
        if not isinstance(values, dict):
            if values is not None:
                skipped.append(f"{name}: {values}")
            continue
        cells = " | ".join(format_metric(metric, values.get(metric)) for _, metric in _TABLE)
        lines.append(f"| {name} | {cells} |")
    regime = backtest.get("regime")
    if isinstance(regime, dict) and "balanced_accuracy" in regime:
        lines += [
            "",
            f"Regime head: balanced accuracy {format_metric('balanced_accuracy', regime['balanced_accuracy'])} against "
            f"{format_metric('balanced_accuracy', regime.get('majority_balanced_accuracy'))} for always calling "
            f"{regime.get('majority_regime', 'the majority regime')}.",
        ]
    if backtest.get("split"):
        lines += ["", f"Split: {backtest['split']}"]
    lines += [f"- {note}" for note in skipped]
    if links:
        lines += ["", *(f"- [{label}]({url})" for label, url in links.items())]
    return "\n".join(lines)


def record_on_parent(run_id: str, backtest: dict[str, Any], registered_here: bool = True) -> dict[str, float]:
    """On the pipeline's parent run: the headline metrics, the report folder (``report/``), the description with the
    results table and links. When this run registered a new model version (``registered_here``: its backtest ran,
    not from the cache, and made a version), the version's description links back to this run. Returns the metrics
    logged."""
    from pathlib import Path

    import mlflow
    from mlflow.exceptions import MlflowException

    from hrl_sarp import tracking

    client = mlflow.MlflowClient()
    run = client.get_run(run_id)
    experiment_id = run.info.experiment_id
    metrics = headline_metrics(backtest)
    now = int(time.time() * 1000)
    client.log_batch(run_id, metrics=[mlflow.entities.Metric(k, v, now, 0) for k, v in metrics.items()])
    links = {}
    report = Path(str(backtest.get("report") or ""))
    if report.is_file():
        for path in sorted(report.parent.iterdir()):
            if path.is_file():
                client.log_artifact(run_id, str(path), "report")
        links["HTML report (artifact)"] = tracking.run_url(experiment_id, run_id, f"artifacts/report/{report.name}")
    registry = backtest.get("registry")
    if isinstance(registry, dict) and registry.get("version"):
        name, version = str(registry["name"]), str(registry["version"])
        state = "unchanged, " if registry.get("unchanged") else ""
        links[f"model {name} v{version} ({state}{registry.get('alias')})"] = tracking.model_version_url(name, version)
        client.set_tag(run_id, "registered_model_version", f"{name}/{version}")
        if registered_here and not registry.get("unchanged"):
            try:
                client.update_model_version(
                    name,
                    version,
                    description=f"Trained and backtested by pipeline run [{run.info.run_name}]"
                    f"({tracking.run_url(experiment_id, run_id)}) (run id {run_id}).",
                )
            except MlflowException as exc:  # e.g. a version another store holds: the run's record still stands
                log.warning("model %s v%s: description not updated (%s)", name, version, str(exc).splitlines()[0])
    tracking.describe_run(run_id, results_markdown(backtest, links))
    return metrics
