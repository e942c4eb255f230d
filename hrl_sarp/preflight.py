"""Problems a validated batch would meet in later stages, found before anything is written.

``validate-data`` judges rows; this judges the batch as a whole by running the real stages that read it on a
throwaway copy: the valid rows are loaded into a warehouse in a temporary folder and the feature build runs on
it (its Pandera checks included), then the walk-forward split is planned on the resulting calendar. Each problem
is one line naming the stage that would stop (``features: ...``, ``backtest: ...``) or the fallback it would take
(``benchmark: ...``). The temporary folder is removed afterwards, so the user's warehouse is never touched.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import duckdb

from hrl_sarp import warehouse as wh
from hrl_sarp.backtest.splits import SplitError, walk_forward_splits
from hrl_sarp.config import Config
from hrl_sarp.data.sources import DateLike
from hrl_sarp.errors import HrlSarpError
from hrl_sarp.features.build import build_features
from hrl_sarp.ingest import PreparedBatch, load_batch, prepare, validation_report


def check_data(
    cfg: Config,
    path: str | Path | None = None,
    source: str | None = None,
    start: DateLike = None,
    end: DateLike = None,
) -> dict[str, Any]:
    """``validate-data``: the row report of :func:`hrl_sarp.ingest.validation_report` plus ``problems`` from
    :func:`preflight`. ``exit_code`` 0: every row valid and no problem; 1: rows to quarantine or a problem."""
    source = source or ("files" if path is not None else cfg.data.source)
    batch = prepare(cfg, source, path, start, end)
    report = validation_report(batch)
    report["problems"] = preflight(cfg, batch)
    report["exit_code"] = 1 if batch.rejections or report["problems"] else 0
    return report


def preflight(cfg: Config, batch: PreparedBatch) -> list[str]:
    """One line per problem that would stop (or silently change) a later stage; empty when none."""
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="hrl_sarp_preflight_") as tmp:
        throwaway = cfg.model_copy(update={"warehouse": str(Path(tmp) / "preflight.duckdb")})
        con = wh.connect(throwaway.warehouse_path())
        try:
            load_batch(throwaway, batch, progress=False, con=con)
            try:
                summary = build_features(con, throwaway, report_dir=Path(tmp) / "reports")
            except (HrlSarpError, duckdb.Error, ValueError) as exc:  # whatever would stop the stage, as one line
                return [f"features: {exc}"]
            if summary.benchmark_source != "index":
                problems.append(f"benchmark: {summary.benchmark}")
            dates = con.execute(
                "SELECT date FROM benchmark_returns WHERE build_id = ? ORDER BY date", [summary.build_id]
            ).fetchnumpy()["date"]
        finally:
            con.close()
    try:
        walk_forward_splits(dates, cfg.backtest)
    except SplitError as exc:
        problems.append(f"backtest: {exc}")
    return problems
