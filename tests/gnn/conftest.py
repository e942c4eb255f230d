"""Fixtures for the sector GNN tests: a small correlated sector market and a warehouse with a feature build."""

from __future__ import annotations

import pytest

from hrl_sarp.config import load_config
from tests.gnn.market_fixture import make_sector_market

# Small, fast settings: the walk-forward logic is the same as the demo profile's, on fewer weeks and epochs.
FAST_GNN = {
    "gnn.min_train_weeks": 40,
    "gnn.refit_every_weeks": 26,
    "gnn.epochs": 8,
}


@pytest.fixture(scope="module")
def market():
    return make_sector_market(seed=3, years=4.0, n_sectors=5, stocks_per_sector=3, n_macro=2)


@pytest.fixture
def fast_config():
    return load_config("demo", overrides=FAST_GNN)


@pytest.fixture(scope="module")
def feature_warehouse(tmp_path_factory):
    """A warehouse holding a short synthetic market (4 years, 11 sectors x 2 stocks) and its feature build."""
    from hrl_sarp import warehouse as wh
    from hrl_sarp.features.build import build_features
    from hrl_sarp.ingest import ingest

    path = tmp_path_factory.mktemp("gnn_wh") / "wh.duckdb"
    cfg = load_config(
        "demo",
        overrides={
            "warehouse": str(path),
            "data.synthetic.start": "2019-01-01",
            "data.synthetic.end": "2022-12-31",
            "data.synthetic.stocks_per_sector": 2,
        },
    )
    ingest(cfg, progress=False)
    with wh.open_warehouse(path) as con:
        build_features(con, cfg, report_dir=path.parent / "reports")
    return path
