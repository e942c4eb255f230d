"""``hrl-sarp features``: builds, prints the summary (JSON with --json), skips an identical rebuild."""

from __future__ import annotations

import json

from hrl_sarp.cli import main


def test_features_command_json(market_warehouse, capsys, monkeypatch):
    monkeypatch.setenv("HRL_SARP_WAREHOUSE", str(market_warehouse))
    args = ["features", "--warehouse", str(market_warehouse), "--json"]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["n_stock_features"] == 22 and first["n_sectors"] == 3 and not first["skipped"]
    assert main(args) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["skipped"] and second["build_id"] == first["build_id"]


def test_features_without_data_is_one_line_error(tmp_path, capsys):
    code = main(["features", "--warehouse", str(tmp_path / "empty.duckdb"), "--json"])
    err = capsys.readouterr().err
    assert code != 0 and err.startswith("error: ") and len(err.strip().splitlines()) == 1
