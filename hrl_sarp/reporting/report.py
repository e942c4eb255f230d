"""Backtest report: PNG plots (matplotlib Agg) and one self-contained HTML file.

The HTML embeds every plot as a base64 ``data:`` URI and carries its CSS inline: no scripts, no external links, so
it opens offline and can be logged to MLflow as a single artifact. It shows where it came from (time, git sha,
config, feature build, MLflow run, model version), the split used, the metrics table (mean over seeds; fractions as
percentages) for every strategy, the spread over seeds where a strategy ran several, the bootstrap intervals of the
Sharpe difference against equal weight, the equity chart with the days the risk overlay held HRL-SARP all in cash
shaded, and the regime calls beside the majority-class baseline.
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
from hrl_sarp.backtest.metrics import regime_scores
from hrl_sarp.domain import METRIC_NAMES, N_REGIMES, REGIMES

HRL_SARP = "hrl_sarp"
# Metrics that are fractions of capital or of days: shown as percentages.
PERCENT_METRICS = frozenset(
    {"cagr", "volatility", "max_drawdown", "cvar95", "hit_rate", "cost_drag", "cash_share", "exposure"}
)
# Exposure below this is "all in cash" (the overlay's gate, or a strategy with nothing to hold).
_CASH_EXPOSURE = 1e-6

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f0f0f0; }
p.note { color: #555; font-size: 0.9em; }
dl.provenance { display: grid; grid-template-columns: max-content auto; gap: 2px 12px; font-size: 0.85em; }
dl.provenance dt { color: #555; } dl.provenance dd { margin: 0; font-family: monospace; }
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


def cash_spans(dates: np.ndarray, exposure: np.ndarray) -> list[tuple[np.datetime64, np.datetime64]]:
    """(first, last) dates of each run of consecutive days with ``exposure`` (K,) below 1e-6 (fully in cash)."""
    held = np.asarray(exposure) < _CASH_EXPOSURE
    if not held.any():
        return []
    edges = np.diff(np.concatenate([[0], held.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    days = np.asarray(dates)
    return [(days[a], days[b]) for a, b in zip(starts, ends, strict=True)]


def exposure_of(result: BacktestResult, name: str) -> np.ndarray | None:
    """(K,) invested fraction of ``name``'s first seed each day (None without weights, e.g. the benchmark)."""
    runs = result.results.get(name)
    if not runs or runs[0].weights is None:
        return None
    return np.asarray(runs[0].weights).sum(axis=1)


def plot_equity(result: BacktestResult, path: Path, shade: str | None = HRL_SARP) -> Path:
    """NAV (seed mean of daily returns, compounded) of every strategy on one chart; the days ``shade`` (default
    HRL-SARP) held no stock at all are shaded, so flat stretches read as cash, not as a broken line."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 4.5))
    x = _as_datetime(result.dates)
    for name in result.strategies:
        nav = np.cumprod(1.0 + result.mean_returns(name))
        ax.plot(x, nav, label=name, linewidth=2.2 if name == HRL_SARP else 1.2)
    exposure = exposure_of(result, shade) if shade else None
    if exposure is not None:
        dates = result.results[shade][0].dates
        for i, (first, last) in enumerate(cash_spans(dates, exposure)):
            ax.axvspan(*_as_datetime(np.array([first, last])), color="#999999", alpha=0.2, linewidth=0,
                       label=f"{shade} all in cash" if i == 0 else None)  # fmt: skip
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
    red, Sideways grey), with the balanced accuracy and the majority call's in the title."""
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
    scores = regime_scores(np.asarray(called, dtype=np.int64), np.asarray(realised, dtype=np.int64))
    ax.set_title(
        f"Regime calls vs realised: balanced accuracy {scores['balanced_accuracy']:.2f} "
        f"(always {scores['majority_regime']}: {scores['majority_balanced_accuracy']:.2f}), hit rate {scores['hit_rate']:.0%}"
    )
    ax.legend(
        handles=[Patch(color=c, label=r) for c, r in zip(colours, REGIMES, strict=True)],
        fontsize=8, ncol=3, loc="upper left", bbox_to_anchor=(1.0, 1.0),
    )  # fmt: skip
    return _save(fig, path)


def format_metric(name: str, value: object, fmt: str = "{:.3f}") -> str:
    """One metric as people read it: fractions of capital or days (:data:`PERCENT_METRICS`) as percentages, other
    numbers with ``fmt``, a dash where it is missing (NaN, None); anything else as text."""
    if value is None or isinstance(value, bool):
        return "–" if value is None else str(value)
    if isinstance(value, int | float | np.integer | np.floating):
        if not np.isfinite(value):
            return "–"
        return f"{100 * float(value):.1f}%" if name in PERCENT_METRICS else fmt.format(value)
    return str(value)


def _table_html(frame: pd.DataFrame, fmt: str = "{:.3f}") -> str:
    """An HTML table; columns named in PERCENT_METRICS are shown as percentages, other floats with ``fmt``."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for _, row in frame.iterrows():
        cells = "".join(f"<td>{html.escape(format_metric(str(c), v, fmt))}</td>" for c, v in row.items())
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _provenance_html(provenance: dict[str, str] | None) -> str:
    if not provenance:
        return ""
    rows = "".join(f"<dt>{html.escape(str(k))}</dt><dd>{html.escape(str(v))}</dd>" for k, v in provenance.items() if v)
    return f'<dl class="provenance">{rows}</dl>'


def _regime_html(called: np.ndarray | None, realised: np.ndarray | None) -> str:
    if called is None or realised is None or not len(realised):
        return ""
    scores = regime_scores(np.asarray(called, dtype=np.int64), np.asarray(realised, dtype=np.int64))
    return (
        f"<p>Regime head over {len(realised)} test weeks: balanced accuracy {scores['balanced_accuracy']:.3f} "
        f"(hit rate {scores['hit_rate']:.1%}); calling {html.escape(str(scores['majority_regime']))} every week scores "
        f"{scores['majority_balanced_accuracy']:.3f} (hit rate {scores['majority_hit_rate']:.1%}). Any constant call "
        f"scores {1 / N_REGIMES:.3f} balanced accuracy.</p>"
    )


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
    provenance: dict[str, str] | None = None,
) -> ReportFiles:
    """Write ``equity.png``, ``drawdown.png``, ``sector_weights.png`` (, ``regimes.png``), ``metrics.csv`` and
    ``report.html`` under ``out_dir``.

    sector_strategy: whose sector weights to plot (default ``hrl_sarp`` if present, else equal weight).
    regime_called, regime_realised: (W,) regime codes (0 Bull, 1 Bear, 2 Sideways) at ``regime_dates`` (W,); the
    regime plot is written only when given.
    provenance: label -> value shown at the top (generated, git sha, config hash, feature build, MLflow run, model).
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
    spread = result.spread()
    several = spread[spread["n_seeds"] > 1]
    spread_html = (
        _table_html(several)
        if len(several)
        else '<p class="note">Every strategy ran one seed here: there is no spread over seeds to show.</p>'
    )
    cash_note = ""
    if chosen is not None:
        cash_note = (
            f'<p class="note">Sector weights of {html.escape(chosen)}: the gap to 100% is cash held by the risk '
            "overlay (shaded on the equity chart where it held no stock at all).</p>"
        )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title><style>{_CSS}</style></head>
<body>
<h1>{html.escape(title)}</h1>
{_provenance_html(provenance)}
<p><b>Split:</b> {html.escape(result.plan.description)}</p>
<p class="note">Daily returns net of costs, annualised with 252 sessions; metrics: {html.escape(metric_note)}.
Fractions of capital or days are percentages: cash_share is the share of days fully in cash, exposure the mean
invested fraction. The benchmark is the index return series (no costs). A strategy's row is the mean over the seeds
it ran (column n_seeds).</p>
<h2>Metrics (mean over seeds)</h2>
{_table_html(table)}
<h2>Spread over seeds (standard deviation)</h2>
{spread_html}
{interval_html}
<h2>Per fold (seed-mean returns)</h2>
{_table_html(result.fold_table())}
{_regime_html(regime_called, regime_realised)}
{cash_note}
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
