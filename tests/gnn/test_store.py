"""Embedding storage: versioning, idempotent one-transaction writes, loading, and the Pandera contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hrl_sarp import warehouse as wh
from hrl_sarp.config import load_config
from hrl_sarp.errors import WarehouseStateError
from hrl_sarp.gnn.store import embeddings_frame, load_embeddings, load_model_metrics, model_version, write_embeddings
from schemas.embeddings import EmbeddingValidationError, validate_embeddings


def _frame(version="gnn-a", weeks=4, sectors=("Auto", "IT", "Energy"), dim=6, seed=0):
    rng = np.random.default_rng(seed)
    dates = np.array(["2024-01-05", "2024-01-12", "2024-01-19", "2024-01-26"][:weeks], dtype="datetime64[D]")
    emb = rng.normal(size=(weeks, len(sectors), dim))
    embedded = np.array([False] + [True] * (weeks - 1))
    return embeddings_frame(version, "fb-1", dates, np.array(sectors), emb, embedded), emb


def test_model_version_follows_build_config_and_seed():
    cfg = load_config("demo")
    assert model_version("fb-1", cfg) == model_version("fb-1", load_config("demo"))
    assert model_version("fb-2", cfg) != model_version("fb-1", cfg)
    assert model_version("fb-1", load_config("demo", overrides={"seed": 1})) != model_version("fb-1", cfg)
    assert model_version("fb-1", load_config("demo", overrides={"gnn.encoder": "gat"})) != model_version("fb-1", cfg)


def test_write_is_idempotent_and_loads_back(warehouse_path):
    frame, emb = _frame()
    validate_embeddings(frame, 6)
    with wh.open_warehouse(warehouse_path) as con:
        for _ in range(2):
            write_embeddings(con, frame, "gnn-a", "fb-1", "h", "gcn", {"val_rank_ic": 0.05, "bad": float("nan")})
        assert wh.fetch_one(con, "SELECT count(*) FROM sector_embeddings")[0] == 9
        assert wh.fetch_one(con, "SELECT count(*) FROM gnn_models")[0] == 1
        weeks, sectors, loaded, version = load_embeddings(con)
        assert version == "gnn-a" and list(sectors) == ["Auto", "Energy", "IT"]
        assert weeks[0] == np.datetime64("2024-01-12") and loaded.shape == (3, 3, 6)
        np.testing.assert_array_equal(loaded[:, 0], emb[1:, 0])  # Auto
        np.testing.assert_array_equal(loaded[:, 1], emb[1:, 2])  # Energy (sorted)
        assert load_model_metrics(con, "gnn-a") == {"val_rank_ic": 0.05, "bad": None}


def test_load_without_embeddings_says_what_to_run(warehouse_path):
    with wh.open_warehouse(warehouse_path) as con, pytest.raises(WarehouseStateError, match="fit-gnn"):
        load_embeddings(con)


def test_failed_write_leaves_the_previous_rows(warehouse_path, monkeypatch):
    frame, _ = _frame()
    with wh.open_warehouse(warehouse_path) as con:
        write_embeddings(con, frame, "gnn-a", "fb-1", "h", "gcn", {})
        broken = frame.copy()
        broken["week_end"] = pd.NaT  # violates NOT NULL inside the transaction
        with pytest.raises(Exception):  # noqa: B017 - DuckDB's constraint error
            write_embeddings(con, broken, "gnn-a", "fb-1", "h", "gcn", {})
        assert wh.fetch_one(con, "SELECT count(*) FROM sector_embeddings")[0] == 9


@pytest.mark.parametrize(
    "breakage, check",
    [
        (lambda f: f.assign(embedding=[np.r_[np.nan, np.ones(5)]] + list(f.embedding[1:])), "finite_values"),
        (lambda f: f.assign(embedding=[np.ones(5)] + list(f.embedding[1:])), "one_dimension"),
        (lambda f: pd.concat([f, f.iloc[:1]]), "unique"),
    ],
)
def test_schema_rejects_bad_embeddings(breakage, check):
    frame, _ = _frame()
    with pytest.raises(EmbeddingValidationError, match=check):
        validate_embeddings(breakage(frame))


def test_schema_checks_the_configured_dimension():
    frame, _ = _frame()
    with pytest.raises(EmbeddingValidationError, match="embedding_dim=64"):
        validate_embeddings(frame, 64)
