"""The sector GNN's quality across seeds: one seed's fit from plain arrays, and mean/spread across seeds.

Pure over arrays (no warehouse, no Prefect), so a fan-out can ship the inputs to any worker process.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from hrl_sarp.features.arrays import FeatureArrays
from hrl_sarp.threads import TORCH_RNG_LOCK


def seed_inputs(arrays: FeatureArrays) -> dict[str, Any]:
    """The small daily arrays a GNN fit needs: dates (T,), sectors (S,), sector and benchmark returns (T, S) and
    (T,), week ends (W,), macro state (T, M) and its names."""
    return {
        "dates": arrays.dates,
        "sectors": arrays.sectors,
        "sector_returns": arrays.sector_returns,
        "benchmark_returns": arrays.benchmark_returns,
        "week_end_index": arrays.week_end_index,
        "macro": arrays.macro,
        "macro_names": list(arrays.macro_names),
    }


def fit_one_seed(seed: int, inputs: dict[str, Any], gnn_json: str, splits: dict[str, float]) -> dict[str, Any]:
    """Walk-forward sector embeddings for one seed from :func:`seed_inputs`; returns its held-out metrics (nothing
    is written). Fits in one process take turns on :data:`TORCH_RNG_LOCK` so each seed stays reproducible."""
    from hrl_sarp.config import GnnConfig
    from hrl_sarp.gnn.fit import fit_sector_embeddings

    with TORCH_RNG_LOCK:
        fit = fit_sector_embeddings(
            inputs["dates"],
            inputs["sectors"],
            inputs["sector_returns"],
            inputs["benchmark_returns"],
            inputs["week_end_index"],
            GnnConfig.model_validate_json(gnn_json),
            splits["train_fraction"],
            splits["val_fraction"],
            seed,
            macro=inputs["macro"],
            macro_names=tuple(inputs["macro_names"]),
        )
    return {"seed": int(seed), "source": "fitted", **{k: float(v) for k, v in fit.metrics.items()}}


def seed_statistics(per_seed: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean and sample standard deviation across seeds of every numeric metric present in all of them."""
    names = sorted(set.intersection(*(set(r) for r in per_seed)) - {"seed", "source"}) if per_seed else []
    out: dict[str, dict[str, float]] = {"mean": {}, "std": {}}
    for name in names:
        values = np.array([r[name] for r in per_seed if isinstance(r[name], int | float)], dtype=np.float64)
        if len(values) != len(per_seed):
            continue
        finite = values[np.isfinite(values)]
        out["mean"][name] = float(finite.mean()) if len(finite) else math.nan
        out["std"][name] = float(finite.std(ddof=1)) if len(finite) > 1 else 0.0
    return out
