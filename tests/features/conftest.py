"""Fixtures of the feature tests (helpers live in ``tests/features/raw_market.py``)."""

from __future__ import annotations

import pytest

from tests.features.raw_market import load_market, make_market


@pytest.fixture
def market_warehouse(tmp_path):
    """A warehouse loaded with :func:`make_market` defaults; returns its path."""
    path = tmp_path / "wh.duckdb"
    load_market(path, make_market())
    return path
