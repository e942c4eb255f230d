"""The demo profile end to end on the synthetic market (whose signals are planted): ingest -> features -> GNN ->
Phases 1-2 -> Phases 3-5. The trained system's validation Sharpe must beat equal weight's, and the Phase 5 summary
reports it beside the Phase-2-only system and equal weight."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.slow
def test_demo_phases_3_to_5_beat_equal_weight_on_validation(tmp_path, monkeypatch):
    from hrl_sarp import warehouse as wh
    from hrl_sarp.features.build import build_features
    from hrl_sarp.gnn import fit_gnn
    from hrl_sarp.ingest import ingest
    from hrl_sarp.rl.inputs import load_rl_inputs
    from hrl_sarp.rl.runner import public, run_rl
    from hrl_sarp.training.runner import run_pretrain
    from tests.system_fixture import demo_config

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    cfg = demo_config(tmp_path)
    ingest(cfg, progress=False)
    with wh.open_warehouse(cfg.warehouse_path()) as con:
        build_features(con, cfg, progress=False)
        fit_gnn(con, cfg, progress=False)
    run_pretrain(cfg, 1)
    run_pretrain(cfg, 2)

    report = run_rl(cfg, (3, 4, 5), load_rl_inputs(cfg))
    phase5 = public(report["rl_phase5"])
    assert phase5["val_sharpe"] > phase5["val_sharpe_equal_weight"]
    assert np.isfinite(phase5["val_sharpe_phase2_only"])
    assert phase5["val_sharpe"] >= report["rl_phase4"]["val_sharpe"] - 1e-9  # early stopping keeps the best
