"""Time ``fit_gnn`` on the demo profile and print one JSON line per seed/encoder with the held-out numbers.

    .venv/bin/python bench/bench_gnn.py [--seeds 42 1 2] [--encoders gcn gat] [--workdir DIR]

Builds the demo warehouse (synthetic ingest + feature build, not timed) in a temporary folder, then runs the
library entry point ``fit_gnn`` with MLflow pointed at that folder. ``fit_s`` is the walk-forward fit (graphs,
training, embedding, evaluation); ``total_s`` adds reading the build, validation, the warehouse write and MLflow
logging (model, PNG, per-epoch losses).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[42])
    parser.add_argument("--encoders", nargs="+", default=["gcn"])
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-gnn-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{work / 'mlflow.db'}"

    from hrl_sarp import warehouse as wh
    from hrl_sarp.config import load_config

    path = work / "wh.duckdb"
    base = {"warehouse": str(path), "tracking.artifact_dir": str(work / "artifacts")}
    if not path.exists():
        from hrl_sarp.features.build import build_features
        from hrl_sarp.ingest import ingest

        cfg = load_config("demo", overrides=base)
        ingest(cfg, progress=False)
        with wh.open_warehouse(path) as con:
            build_features(con, cfg, report_dir=work / "reports")

    from hrl_sarp.gnn.fit import fit_gnn

    for encoder in args.encoders:
        for seed in args.seeds:
            cfg = load_config("demo", overrides={**base, "seed": seed, "gnn.encoder": encoder})
            began = time.perf_counter()
            with wh.open_warehouse(path) as con:
                summary = fit_gnn(con, cfg, progress=False)
            out = summary.to_dict()
            out["wall_s"] = round(time.perf_counter() - began, 3)
            out["seed"] = seed
            print(json.dumps(out, default=str), flush=True)


if __name__ == "__main__":
    main()
