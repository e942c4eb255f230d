"""Shared fixtures. Telemetry off and Prefect/MLflow state kept inside the test session's temp dirs."""

from __future__ import annotations

import os

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

import pytest  # noqa: E402


@pytest.fixture
def warehouse_path(tmp_path):
    """A fresh, empty warehouse file path."""
    return tmp_path / "wh.duckdb"
