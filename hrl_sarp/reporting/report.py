"""Backtest report: PNG plots (matplotlib Agg) and one self-contained HTML file.

The HTML embeds every plot as a base64 ``data:`` URI and carries its CSS inline: no scripts, no external links, so
it opens offline and can be logged to MLflow as a single artifact. It shows the split used, the metrics table (mean
over seeds) for every strategy, the spread over seeds and the bootstrap intervals of the Sharpe difference against
equal weight.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hrl_sarp.backtest.baselines import BENCHMARK, EQUAL_WEIGHT
from hrl_sarp.backtest.engine import BacktestResult
from hrl_sarp.domain import METRIC_NAMES, REGIMES

HRL_SARP = "hrl_sarp"

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f0f0f0; }
p.note { color: #555; font-size: 0.9em; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
"""


@dataclass(frozen=True)
class ReportFiles:
    """Paths written by :func:`write_report`."""

    html: Path
    plots: dict[str, Path]
    table_csv: Path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)
    return path


def _as_datetime(dates: np.ndarray) -> np.ndarray:
    return np.asarray(dates).astype("datetime64[D]").astype("datetime64[ms]").astype(object)


def plot_equity(result: BacktestResult, path: Path) -> Path:
    """NAV (seed mean of daily returns, compounded) of every strategy on one chart."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 4.5))
    x = _as_datetime(result.dates)
    for name in result.strategies:
        nav = np.cumprod(1.0 + result.mean_returns(name))
        ax.plot(x, nav, label=name, linewidth=2.2 if name == HRL_SARP else 1.2)
    ax.set_title("Equity (out-of-sample, net of costs)")
    ax.set_ylabel("NAV (start = 1)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    return _save(fig, path)


def plot_drawdown(result: BacktestResult, path: Path) -> Path:
    """Drawdown from the running peak of every strategy."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 3.5))
    x = _as_datetime(result.dates)
    for name in result.strategies:
        nav = np.concatenate([[1.0], np.cumprod(1.0 + result.mean_returns(name))])
        dd = (1.0 - nav / np.maximum.accumulate(nav))[1:]
        ax.plot(x, -dd, label=name, linewidth=1.2)
    ax.set_title("Drawdown")
    ax.set_ylabel("drawdown")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    return _save(fig, path)


def plot_sector_weights(
    dates: np.ndarray, sector_weights: np.ndarray, sectors: np.ndarray, path: Path, title: str
) -> Path:
    """Stacked area of (K, S) sector weights over K dates (cash is the gap to 1)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 4))
    # tab20 keeps up to 20 sectors distinguishable (tab10, the default cycle, repeats after 10)
    colours = plt.get_cmap("tab20")(np.arange(len(sectors)) % 20)
    ax.stackplot(
        _as_datetime(dates), np.clip(sector_weights, 0.0, None).T, labels=[str(s) for s in sectors], colors=colours
    )
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.set_ylabel("weight")
    ax.legend(fontsize=7, ncol=2, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _save(fig, path)


def plot_regimes(dates: np.ndarray, called: np.ndarray, realised: np.ndarray, path: Path) -> Path:
    """Regime calls (K,) against realised regimes (K,) at ``dates`` (K,) as two colour strips (Bull green, Bear
    red, Sideways grey), with the hit rate in the title."""
    plt = _pyplot()
    from matplotlib.colors import ListedColormap
    from matplotlib.dates import date2num
    from matplotlib.patches import Patch

    colours = ["#2ca02c", "#d62728", "#bbbbbb"][: len(REGIMES)]
    x = date2num(_as_datetime(dates))
    step = float(np.median(np.diff(x))) if len(x) > 1 else 1.0
    edges = np.concatenate([x, [x[-1] + step]]) if len(x) else np.array([0.0, 1.0])
    codes = np.vstack([np.asarray(called), np.asarray(realised)]).astype(float)
    fig, ax = plt.subplots(figsize=(10, 2.2))
    ax.pcolormesh(edges, [0, 1, 2], codes, cmap=ListedColormap(colours), vmin=-0.5, vmax=len(REGIMES) - 0.5)
    ax.set_yticks([0.5, 1.5], ["called", "realised"])
    ax.xaxis_date()
    hit = float(np.mean(codes[0] == codes[1])) if codes.shape[1] else 0.0
    ax.set_title(f"Regime calls vs realised (hit rate {hit:.1%})")
    ax.legend(
        handles=[Patch(color=c, label=r) for c, r in zip(colours, REGIMES, strict=True)],
        fontsize=8, ncol=3, loc="upper left", bbox_to_anchor=(1.0, 1.0),
    )  # fmt: skip
    return _save(fig, path)


def _table_html(frame: pd.DataFrame, fmt: str = "{:.4f}") -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for _, row in frame.iterrows():
        cells = []
        for value in row:
            text = fmt.format(value) if isinstance(value, float | np.floating) else str(value)
            cells.append(f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def interval_frame(result: BacktestResult) -> pd.DataFrame:
    """One row per strategy with its Sharpe difference vs equal weight and the bootstrap interval."""
    rows = [
        {"strategy": name, "sharpe_diff": iv.estimate, "low": iv.low, "high": iv.high, "confidence": iv.confidence}
        for name, iv in result.intervals.items()
    ]
    return pd.DataFrame(rows, columns=["strategy", "sharpe_diff", "low", "high", "confidence"])


def metrics_markdown(result: BacktestResult) -> str:
    """The metrics table (seed means) as a markdown table, with the split on the first line (Prefect artifacts)."""
    table = result.table()
    header = "| " + " | ".join(table.columns) + " |\n|" + "---|" * len(table.columns) + "\n"
    lines = []
    for _, row in table.iterrows():
        cells = [f"{v:.4f}" if isinstance(v, float | np.floating) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return f"Split: {result.plan.description}\n\n" + header + "\n".join(lines) + "\n"


def _sector_strategy(result: BacktestResult, preferred: str | None) -> str | None:
    names = [preferred] if preferred else [HRL_SARP, EQUAL_WEIGHT]
    names += [n for n in result.strategies if n != BENCHMARK]
    for name in names:
        if name in result.results and result.results[name][0].sector_weights is not None:
            return name
    return None


def write_report(
    result: BacktestResult,
    out_dir: str | Path,
    *,
    title: str = "HRL-SARP walk-forward backtest",
    sector_strategy: str | None = None,
    regime_called: np.ndarray | None = None,
    regime_realised: np.ndarray | None = None,
    regime_dates: np.ndarray | None = None,
) -> ReportFiles:
    """Write ``equity.png``, ``drawdown.png``, ``sector_weights.png`` (, ``regimes.png``), ``metrics.csv`` and
    ``report.html`` under ``out_dir``.

    sector_strategy: whose sector weights to plot (default ``hrl_sarp`` if present, else equal weight).
    regime_called, regime_realised: (W,) regime codes (0 Bull, 1 Bear, 2 Sideways) at ``regime_dates`` (W,); the
    regime plot is written only when given.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plots = {
        "equity": plot_equity(result, out / "equity.png"),
        "drawdown": plot_drawdown(result, out / "drawdown.png"),
    }
    chosen = _sector_strategy(result, sector_strategy)
    if chosen is not None:
        run = result.results[chosen][0]
        plots["sector_weights"] = plot_sector_weights(
            run.dates, run.sector_weights, result.sectors, out / "sector_weights.png", f"Sector weights: {chosen}"
        )
    if regime_called is not None and regime_realised is not None:
        dates = result.dates[: len(regime_called)] if regime_dates is None else regime_dates
        plots["regimes"] = plot_regimes(dates, regime_called, regime_realised, out / "regimes.png")

    table = result.table()
    table_csv = out / "metrics.csv"
    table.to_csv(table_csv, index=False)
    images = "".join(
        f"<h2>{html.escape(name.replace('_', ' ').capitalize())}</h2>"
        f'<img alt="{html.escape(name)}" src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}">'
        for name, path in plots.items()
    )
    intervals = interval_frame(result)
    interval_html = (
        f"<h2>Sharpe difference vs {EQUAL_WEIGHT} (stationary bootstrap)</h2>{_table_html(intervals)}"
        if len(intervals)
        else ""
    )
    metric_note = ", ".join(METRIC_NAMES)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title><style>{_CSS}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p><b>Split:</b> {html.escape(result.plan.description)}</p>
<p class="note">Daily returns net of costs, annualised with 252 sessions; metrics: {html.escape(metric_note)}.
The benchmark is the index return series (no costs). Means over seeds; seeded strategies ran
{max(len(r) for r in result.results.values())} seed(s).</p>
<h2>Metrics (mean over seeds)</h2>
{_table_html(table)}
<h2>Spread over seeds (standard deviation)</h2>
{_table_html(result.spread())}
{interval_html}
<h2>Per fold (seed-mean returns)</h2>
{_table_html(result.fold_table())}
{images}
</body></html>
"""
    html_path = out / "report.html"
    html_path.write_text(page, encoding="utf-8")
    return ReportFiles(html=html_path, plots=plots, table_csv=table_csv)


def log_report(result: BacktestResult, files: ReportFiles, artifact_path: str = "backtest") -> None:
    """Log every ``{strategy}.{metric}`` (and ``_std``, Sharpe-difference intervals) and the report files to the
    active MLflow run."""
    from hrl_sarp import tracking

    tracking.log_metrics(result.flat_metrics())
    tracking.set_tags({"backtest_split": result.plan.description[:250]})
    for path in [files.html, files.table_csv, *files.plots.values()]:
        tracking.log_artifact(path, artifact_path)
