"""Coverage report of a feature build: which features come from data and which are neutral fill.

The report is a JSON-serialisable dict, saved as a file per build and stored on ``feature_builds.coverage``.
Per feature: ``status`` is ``data`` (no neutral fill among listed (date, stock) cells after warm-up),
``partial`` or ``neutral`` (every cell filled), with ``neutral_share``, the raw ``sources`` and which of them the
data lacks (``missing_sources``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hrl_sarp.features.spec import MACRO_FEATURE_SPECS, SECTOR_FEATURE_SPECS, STOCK_FEATURE_SPECS, FeatureSpec

if TYPE_CHECKING:
    from hrl_sarp.config import Config
    from hrl_sarp.features.build import ComputedFeatures, MarketInputs

# Sources a feature can do without (they refine it when present).
OPTIONAL_SOURCES = {"fundamentals.net_debt", "macro.advances", "macro.declines"}


def _status(share: float) -> str:
    if share <= 0.0:
        return "data"
    return "neutral" if share >= 1.0 else "partial"


def _entry(spec: FeatureSpec, share: float, sources: dict[str, bool]) -> dict[str, Any]:
    missing = [s for s in spec.sources if not sources.get(s, False)]
    required_missing = [s for s in missing if s not in OPTIONAL_SOURCES]
    entry = {
        "status": "neutral" if required_missing else _status(share),
        "neutral_share": round(share, 6),
        "neutral_value": spec.neutral if isinstance(spec.neutral, str) else float(spec.neutral),
        "sources": list(spec.sources),
        "missing_sources": missing,
    }
    if spec.name == "breadth_advance_decline" and missing:
        entry["derived_from"] = "stock prices (share of advancing minus declining stocks)"
    return entry


def coverage_report(
    inputs: MarketInputs,
    computed: ComputedFeatures,
    cfg: Config,
    build_id: str,
    snapshot: str,
    config_hash: str,
    rows: dict[str, int],
) -> dict[str, Any]:
    """The coverage report of one build (see the module docstring)."""
    sources = inputs.sources
    notes: list[str] = []
    if computed.benchmark_source != "index":
        notes.append(f"benchmark: {inputs.benchmark.how}")
    if not sources.get("prices.volume"):
        notes.append("no volume in prices: volume_ratio_20d is neutral (1) and the liquidity filter is off")
    if not sources.get("fundamentals.shares_outstanding"):
        notes.append("no shares_outstanding: market caps are neutral, so cap-weighted sector returns equal-weight")
    if not sources.get("sentiment"):
        notes.append("no sector sentiment: sentiment_1w is neutral (0) for every sector")
    if inputs.sentiment_unmatched:
        left_out = ", ".join(f"{sector} ({n})" for sector, n in inputs.sentiment_unmatched.items())
        notes.append(f"sentiment rows of sectors without stocks in the build were left out: {left_out}")
    if not sources.get("prices.adj_close"):
        notes.append("no adj_close: returns use the raw close")
    missing_macro = sorted(s.split(".", 1)[1] for s, ok in sources.items() if s.startswith("macro.") and not ok)
    missing_fund = sorted(s.split(".", 1)[1] for s, ok in sources.items() if s.startswith("fundamentals.") and not ok)
    return {
        "build_id": build_id,
        "snapshot": snapshot,
        "config_hash": config_hash,
        "dates": {
            "first": str(inputs.dates[cfg.features.warmup_days]),
            "last": str(inputs.dates[-1]),
            "warmup_days": cfg.features.warmup_days,
        },
        "dimensions": {
            "stocks": len(inputs.symbols),
            "sectors": len(inputs.sectors),
            "sector_names": [str(s) for s in inputs.sectors],
        },
        "benchmark": {
            "name": inputs.benchmark.symbol,
            "source": computed.benchmark_source,
            "chosen": inputs.benchmark.how,
        },
        "sources": dict(sorted(sources.items())),
        "missing_macro_series": missing_macro,
        "missing_fundamental_fields": missing_fund,
        "stock_features": {s.name: _entry(s, computed.neutral_share[s.name], sources) for s in STOCK_FEATURE_SPECS},
        "macro_features": {s.name: _entry(s, computed.neutral_share[s.name], sources) for s in MACRO_FEATURE_SPECS},
        "sector_features": {s.name: _entry(s, computed.neutral_share[s.name], sources) for s in SECTOR_FEATURE_SPECS},
        "environment_features": {"portfolio_drawdown": "filled by the environment"},
        "notes": notes,
        "rows": rows,
    }


def write_coverage(report: dict[str, Any], path: str | Path) -> Path:
    """Write the report as indented JSON; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    return path
