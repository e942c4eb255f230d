"""Benchmark: ingest a ``files`` folder of 20 stocks x 30 years of close-only daily prices into a fresh warehouse.

Writes securities.csv (20 stocks in 4 sectors plus the NIFTY50 index row) and one prices/<symbol>.csv per security
with deterministic closes (a load benchmark: the values only need to be valid), then times
:func:`hrl_sarp.ingest.ingest` (read + validate + one-transaction load) and an identical re-run (which must load 0
rows). Prints one JSON line. Target: under 10 s for the first run.

    .venv/bin/python bench/bench_ingest_files.py [--stocks 20] [--years 30]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hrl_sarp.config import load_config  # noqa: E402
from hrl_sarp.ingest import ingest  # noqa: E402

SECTORS = ["IT", "Financials", "Energy", "FMCG"]


def write_folder(root: Path, stocks: int, years: int) -> int:
    """Write the folder; returns the number of price rows written."""
    (root / "prices").mkdir(parents=True)
    symbols = [f"STK{i:02d}" for i in range(stocks)]
    securities = pd.DataFrame(
        {
            "symbol": [*symbols, "NIFTY50"],
            "sector": [SECTORS[i % len(SECTORS)] for i in range(stocks)] + ["Index"],
            "kind": ["stock"] * stocks + ["index"],
        }
    )
    securities.to_csv(root / "securities.csv", index=False)
    dates = pd.bdate_range(end="2024-12-31", periods=252 * years + years * 9)  # ~30 calendar years of sessions
    day = np.arange(len(dates))
    for k, symbol in enumerate(securities["symbol"]):
        # deterministic positive closes: a drift plus a slow cycle, distinct per symbol
        close = 100.0 * np.exp(0.0003 * day + 0.1 * np.sin(day / (20.0 + k)))
        frame = pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "symbol": symbol, "close": close.round(4)})
        frame.to_csv(root / "prices" / f"{symbol}.csv", index=False)
    return len(dates) * len(securities)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stocks", type=int, default=20)
    parser.add_argument("--years", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        folder = Path(tmp) / "data"
        rows = write_folder(folder, args.stocks, args.years)
        cfg = load_config("demo", overrides={"warehouse": str(Path(tmp) / "bench.duckdb")})
        began = time.perf_counter()
        first = ingest(cfg, source="files", path=folder, progress=False)
        seconds = time.perf_counter() - began
        began = time.perf_counter()
        again = ingest(cfg, source="files", path=folder, progress=False)
        rerun_seconds = time.perf_counter() - began
    assert first.table_counts["prices"] == rows and first.rows_rejected == 0, first.to_dict()
    assert again.rows_loaded == 0 and again.snapshot == first.snapshot
    print(
        json.dumps(
            {
                "benchmark": "ingest_files",
                "stocks": args.stocks,
                "years": args.years,
                "rows": rows,
                "seconds": round(seconds, 3),
                "rerun_seconds": round(rerun_seconds, 3),
                "rerun_rows_loaded": again.rows_loaded,
            }
        )
    )


if __name__ == "__main__":
    main()
